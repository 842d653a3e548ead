// infra/redis/users.acl: a run's registry record belongs to whoever registered it, and only the bridge
// writes a run's commit state (meta, reorder buffer, history).
import { randomUUID } from 'node:crypto';
import { getRun, readHistory, registerRun, requestCancel } from '@agent-bridge/redis';
import { NOPERM, SCRIPT_NOPERM, keys, useAclRedis } from './acl-harness';

const h = useAclRedis();

describe('a run belongs to whoever registered it; only the bridge writes its commit state', () => {
  // Before: gateway and agent could HSET a run's meta (owner, headSeq) and its reorder buffer, which the
  // commit script copies into the history verbatim (run takeover and event injection); the agent read
  // every run's history.
  test.each(['gateway', 'agent'] as const)(
    '%s: registers with HSETNX only; cannot overwrite, delete or expire the record, nor write the buffer',
    async (role) => {
      const conn = h.connect(role);
      const runId = `acl-own-${role}-${randomUUID().slice(0, 8)}`;
      const meta = keys.runMeta(runId);
      const reg = await registerRun(conn, keys, { runId, owner: 'victim', agent: 'demo' });
      expect(reg).toMatchObject({ created: true, record: { owner: 'victim', status: 'pending' } });
      await expect(registerRun(conn, keys, { runId, owner: 'mallory' })).rejects.toThrow(/another user/);
      await expect(conn.hset(meta, 'owner', 'mallory')).rejects.toThrow(NOPERM);
      await expect(conn.hset(meta, 'headSeq', '99')).rejects.toThrow(NOPERM);
      await expect(conn.hdel(meta, 'owner')).rejects.toThrow(NOPERM);
      await expect(conn.del(meta)).rejects.toThrow(NOPERM);
      await expect(conn.pexpire(meta, 1)).rejects.toThrow(NOPERM);
      await expect(conn.rename(meta, `${meta}:x`)).rejects.toThrow(NOPERM);
      await expect(conn.eval("return redis.call('HSET', KEYS[1], 'owner', 'mallory')", 1, meta)).rejects.toThrow(
        SCRIPT_NOPERM,
      );
      await expect(conn.hsetnx(keys.runPending(runId), '5', 'injected')).rejects.toThrow(NOPERM);
      await expect(conn.hset(keys.runPending(runId), '5', 'injected')).rejects.toThrow(NOPERM);
      await expect(
        conn.eval("return redis.call('HSETNX', KEYS[1], '5', 'x')", 1, keys.runPending(runId)),
      ).rejects.toThrow(SCRIPT_NOPERM);
      expect(await h.connect('bridge').hget(meta, 'owner')).toBe('victim');
    },
  );

  test('agent: reads no history and no buffered events of any run (HKEYS of the buffer only)', async () => {
    const bridge = h.connect('bridge');
    const agent = h.connect('agent');
    const runId = `acl-hist-${randomUUID().slice(0, 8)}`;
    await registerRun(bridge, keys, { runId, owner: 'alice' });
    await bridge.xadd(keys.runHistory(runId), '1-0', 'e', '{"secret":1}');
    await bridge.hset(keys.runPending(runId), '3', 'buffered secret');
    await expect(agent.xrange(keys.runHistory(runId), '-', '+')).rejects.toThrow(NOPERM);
    // The history read is a MULTI: its refused XRANGE aborts it.
    await expect(readHistory(agent, keys, runId, 0, 10)).rejects.toThrow(/NOPERM|EXECABORT/);
    await expect(agent.hgetall(keys.runPending(runId))).rejects.toThrow(NOPERM);
    await expect(agent.hget(keys.runPending(runId), '3')).rejects.toThrow(NOPERM);
    // What the agent SDK needs to resume a run: its head and the highest buffered seq.
    expect((await registerRun(agent, keys, { runId, owner: 'alice' })).lastKnownSeq).toBe(3);
  });

  test('gateway: cancels a run once (HSETNX), the owner stays', async () => {
    const gw = h.connect('gateway');
    const runId = `acl-cancel-${randomUUID().slice(0, 8)}`;
    await registerRun(gw, keys, { runId, owner: 'alice' });
    expect(await requestCancel(gw, keys, runId)).toBe(true);
    expect(await getRun(gw, keys, runId)).toMatchObject({ owner: 'alice', cancelRequested: true });
  });
});
