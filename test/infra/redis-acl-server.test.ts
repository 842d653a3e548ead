// infra/redis/users.acl: no role's user reaches the server's administration or other applications' keys.
import { checkRedis } from '@agent-bridge/redis';
import { NOPERM, ROLES, SCRIPT_NOPERM, useAclRedis } from './acl-harness';

const h = useAclRedis();

describe('no role reaches the server or other applications', () => {
  // Each is refused to every role, directly and from inside a script (scripts run with the caller's rights).
  const FORBIDDEN: readonly (readonly string[])[] = [
    ['CONFIG', 'GET', 'masterauth'],
    ['CONFIG', 'SET', 'appendonly', 'no'],
    ['FUNCTION', 'FLUSH'],
    ['FUNCTION', 'LIST'],
    ['SCRIPT', 'FLUSH'],
    ['SCAN', '0'],
    ['KEYS', '*'],
    ['RANDOMKEY'],
    ['DBSIZE'],
    ['SELECT', '1'],
    ['FLUSHALL'],
    ['FLUSHDB'],
    ['CLIENT', 'KILL', 'TYPE', 'normal'],
    ['ACL', 'LIST'],
    ['PUBSUB', 'CHANNELS'],
  ];

  test.each(ROLES)('%s: server-wide commands refused (NOPERM), also from a script', async (role) => {
    const conn = h.connect(role);
    for (const [name, ...args] of FORBIDDEN) {
      await expect(conn.call(name!, ...args)).rejects.toThrow(NOPERM);
    }
    await expect(conn.eval("return redis.call('FLUSHALL')", 0)).rejects.toThrow(SCRIPT_NOPERM);
    await expect(conn.eval("return redis.call('SCAN', '0')", 0)).rejects.toThrow(SCRIPT_NOPERM);
  });

  test.each(ROLES)('%s: the startup check still works (INFO), CONFIG GET not needed', async (role) => {
    const report = await checkRedis(h.connect(role), h.configFor(role));
    expect(report.version).toMatch(/^\d+\.\d+/);
    expect(report.maxmemoryPolicy).not.toBeNull();
  });
});
