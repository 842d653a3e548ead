import { randomUUID } from 'node:crypto';
import type { PublishedState, StateTransition } from '@agent-bridge/protocol';
import { keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { loadConfig } from '@agent-bridge/config';
import { killAllServices, sleep, useRedis, waitFor } from '@agent-bridge/testing';
import { startBridges, startGateway, waitForSingleLeader } from './harness';

jest.setTimeout(600_000);

afterEach(killAllServices);
// Services first: they are stopped before the fixture's afterAll closes the connection and the server.
afterAll(killAllServices);
const redis = useRedis((url) => createRedis(loadConfig({ env: { REDIS_URL: url } }), 'command'), closeRedis);

describe('guarantee 8.2 — integration lifecycle across cold starts (real bridge and gateway processes)', () => {
  it('three cold starts on kept state: each goes UNINITIALIZED → INITIALIZING → ACTIVE only (gateway registers late), and a clean stop leaves UNINITIALIZED "cluster stopped"', async () => {
    const prefix = `t-${randomUUID()}`;
    const keys = keyLayout(prefix);
    const env = {
      REDIS_URL: redis.server.url,
      AB_KEY_PREFIX: prefix,
      AB_HEALTH_PROBE_LATENCY_WARN_MS: '10000',
      // Generous on a loaded machine; the gateway below registers a few seconds after the leader checked.
      AB_HEALTH_STARTUP_GRACE_MS: '60000',
    };
    const state = async (): Promise<PublishedState | null> =>
      JSON.parse((await redis.conn.get(keys.integrationState)) ?? 'null') as PublishedState | null;
    const history = async (): Promise<StateTransition[]> =>
      (await redis.conn.lrange(keys.integrationHistory, 0, -1)).map((r) => JSON.parse(r) as StateTransition).reverse();

    let seen = 0;
    for (let round = 1; round <= 3; round++) {
      const bridges = await startBridges(2, env, `r${round}b`);
      const { bridge: leader } = await waitForSingleLeader(bridges, 30_000);
      // The leader's first check runs before any gateway exists (the failure mode: FAILED → recovery).
      await waitFor('first check published', async () => (await redis.conn.exists(keys.integrationResult)) === 1);
      await sleep(2_000);
      const gateway = await startGateway(`r${round}gw`, env);
      await waitFor('ACTIVE', async () => (await state())?.state === 'ACTIVE', { timeoutMs: 90_000 });
      expect(leader.proc.running).toBe(true);

      // Stop everything cleanly: the gateway first, then both replicas at once (as the launcher does).
      await gateway.terminate();
      const exits = await Promise.all(bridges.map((b) => b.proc.terminate()));
      expect(exits.map((e) => e.code)).toEqual([0, 0]);
      const stopped = await state();
      expect(stopped?.state).toBe('UNINITIALIZED');
      expect(stopped?.reason).toMatch(/^cluster stopped: the last bridge replica \(r\d+b\d\) shut down$/);

      const all = await history();
      const thisRound = all.slice(seen).map((t) => `${t.from}>${t.to}`);
      seen = all.length;
      expect(thisRound).toEqual(['UNINITIALIZED>INITIALIZING', 'INITIALIZING>ACTIVE', 'ACTIVE>UNINITIALIZED']);
      await redis.conn.del(keys.integrationResult);
    }
    // Nothing ever went FAILED, and the recovery log is empty.
    expect((await history()).filter((t) => t.to === 'FAILED')).toEqual([]);
    expect(await redis.conn.llen(keys.recoveryLog)).toBe(0);
  });

  it('a cluster whose processes all crashed (SIGKILL) left ACTIVE behind; the next start takes it over as a stale state: ACTIVE → INITIALIZING → ACTIVE, never FAILED (gateway registers late)', async () => {
    const prefix = `t-${randomUUID()}`;
    const keys = keyLayout(prefix);
    const env = {
      REDIS_URL: redis.server.url,
      AB_KEY_PREFIX: prefix,
      AB_HEALTH_PROBE_LATENCY_WARN_MS: '10000',
      AB_HEALTH_STARTUP_GRACE_MS: '60000',
    };
    const state = async (): Promise<PublishedState | null> =>
      JSON.parse((await redis.conn.get(keys.integrationState)) ?? 'null') as PublishedState | null;
    const transitions = async (): Promise<string[]> =>
      (await redis.conn.lrange(keys.integrationHistory, 0, -1))
        .map((r) => JSON.parse(r) as StateTransition)
        .reverse()
        .map((t) => `${t.from}>${t.to}`);

    const first = await startBridges(2, env, 'xb');
    await waitForSingleLeader(first, 30_000);
    const gw = await startGateway('xgw', env);
    await waitFor('ACTIVE', async () => (await state())?.state === 'ACTIVE', { timeoutMs: 90_000 });
    // Everything dies at once: nobody is left to say so, the published state still claims ACTIVE.
    await Promise.all([...first.map((b) => b.proc.kill()), gw.kill()]);
    expect((await state())?.state).toBe('ACTIVE');
    const before = (await transitions()).length;
    // Longer than a failover explains (the harness's lease 1 s + absentFailMs 3 s + 2 health intervals of
    // 0.5 s + probe timeout 1 s = 6 s): the next leader must not trust this ACTIVE.
    await sleep(7_000);
    await redis.conn.del(keys.integrationResult);

    const second = await startBridges(2, env, 'yb');
    await waitForSingleLeader(second, 30_000);
    // The new leader's first check runs before any gateway exists; trusting the left-over ACTIVE it would
    // publish FAILED (no gateway) and recover.
    await waitFor('first check published', async () => (await redis.conn.exists(keys.integrationResult)) === 1);
    await sleep(2_000);
    await startGateway('ygw', env);
    await waitFor('ACTIVE', async () => (await state())?.state === 'ACTIVE', { timeoutMs: 90_000 });
    expect((await transitions()).slice(before)).toEqual(['ACTIVE>INITIALIZING', 'INITIALIZING>ACTIVE']);
    const initializing = JSON.parse((await redis.conn.lrange(keys.integrationHistory, 1, 1))[0]!) as StateTransition;
    expect(initializing.reason).toMatch(/taking over a ACTIVE state no leader checked for \d+ ms/);
    expect(await redis.conn.llen(keys.recoveryLog)).toBe(0);
  });
});
