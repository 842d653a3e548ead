import { randomUUID } from 'node:crypto';
import { loadConfig } from '@agent-bridge/config';
import { keyLayout } from '@agent-bridge/protocol';
import { sleep, useRedis, waitFor } from '@agent-bridge/testing';
import { MemberHeartbeat, closeRedis, createRedis } from '@agent-bridge/redis';
import { listMembers, readMembers } from './index';

const redis = useRedis((url) => createRedis(loadConfig({ env: { REDIS_URL: url } }), 'command'), closeRedis);

describe('membership: heartbeats (redis) and the member views (control plane)', () => {
  it('start() stores the first beat before resolving; listMembers returns live members with their info', async () => {
    const keys = keyLayout(`t-${randomUUID()}`);
    let sockets = 3;
    const hb = new MemberHeartbeat({
      connection: redis.conn,
      keys,
      role: 'gateway',
      id: 'gw-1',
      intervalMs: 50,
      ttlMs: 500,
      info: () => ({ sockets }),
    });
    await hb.start();
    const first = await listMembers(redis.conn, keys, 'gateway');
    expect(first.map((m) => [m.id, m.role, m.pid, m.info])).toEqual([['gw-1', 'gateway', process.pid, { sockets: 3 }]]);
    expect(await listMembers(redis.conn, keys, 'bridge')).toEqual([]);
    sockets = 7;
    await waitFor(
      'info refreshed',
      async () => (await listMembers(redis.conn, keys, 'gateway'))[0]?.info['sockets'] === 7,
    );
    const later = await listMembers(redis.conn, keys, 'gateway');
    expect(later[0]?.lastSeen).toBeGreaterThan(first[0]?.lastSeen ?? Infinity);
    await hb.close();
    await hb.close(); // idempotent
    expect(await listMembers(redis.conn, keys, 'gateway')).toEqual([]);
    expect(await redis.conn.hlen(keys.memberRecords('gateway'))).toBe(0);
  });

  it('a member that stops beating leaves listMembers after ttlMs; readMembers still shows it, not alive', async () => {
    const keys = keyLayout(`t-${randomUUID()}`);
    const alive = new MemberHeartbeat({
      connection: redis.conn,
      keys,
      role: 'bridge',
      id: 'b-alive',
      intervalMs: 50,
      ttlMs: 400,
    });
    // The dying member has its own connection, cut below as a crash would.
    const dyingConn = createRedis(loadConfig({ env: { REDIS_URL: redis.server.url } }), 'command');
    const dying = new MemberHeartbeat({
      connection: dyingConn,
      keys,
      role: 'bridge',
      id: 'b-dying',
      intervalMs: 50,
      ttlMs: 400,
    });
    await Promise.all([alive.start(), dying.start()]);
    expect((await listMembers(redis.conn, keys, 'bridge')).map((m) => m.id)).toEqual(['b-alive', 'b-dying']);
    // Crash: the connection is gone, so the record stays behind without being refreshed.
    dyingConn.disconnect();
    await sleep(700);
    expect((await listMembers(redis.conn, keys, 'bridge')).map((m) => m.id)).toEqual(['b-alive']);
    expect(await redis.conn.hget(keys.memberRecords('bridge'), 'b-dying')).toContain('"b-dying"');
    const views = await readMembers(redis.conn, keys, 'bridge');
    expect(views.map((m) => [m.id, m.alive])).toEqual([
      ['b-alive', true],
      ['b-dying', false],
    ]);
    expect(views[1]?.lastSeenAgoMs).toBeGreaterThanOrEqual(400);
    await alive.close();
    await dying.close();
  });

  it('rejects a ttl not longer than the interval', () => {
    const keys = keyLayout('t-x');
    expect(
      () => new MemberHeartbeat({ connection: redis.conn, keys, role: 'bridge', id: 'x', intervalMs: 100, ttlMs: 100 }),
    ).toThrow(RangeError);
  });
});
