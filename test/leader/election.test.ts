import { randomUUID } from 'node:crypto';
import { FencingStore } from '@agent-bridge/bridge';
import { loadConfig } from '@agent-bridge/config';
import { FencedError, type StateTransition, keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { killAllServices, sleep, useRedis, waitFor } from '@agent-bridge/testing';
import { type Bridge, startBridges, statuses, waitForSingleLeader } from './harness';

jest.setTimeout(180_000);

afterEach(killAllServices);
// Services first: they are stopped before the fixture's afterAll closes the connection and the server.
afterAll(killAllServices);
const redis = useRedis((url) => createRedis(loadConfig({ env: { REDIS_URL: url } }), 'command'), closeRedis);

function envFor(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL: redis.server.url, AB_KEY_PREFIX: prefix, ...extra };
}

async function historyOf(prefix: string): Promise<StateTransition[]> {
  const raws = await redis.conn.lrange(keyLayout(prefix).integrationHistory, 0, '-1');
  return raws.map((r) => JSON.parse(r) as StateTransition).reverse(); // oldest first
}

/** Polls for `ms` and records the largest number of replicas that claimed leadership at one time. */
async function maxConcurrentLeaders(bridges: Bridge[], ms: number): Promise<number> {
  let max = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const n = (await statuses(bridges)).filter((s) => s.leader.isLeader).length;
    max = Math.max(max, n);
    await sleep(50);
  }
  return max;
}

describe('guarantees 2.1–2.3 — one acting leader (three replica processes, one Redis)', () => {
  it('elects exactly one leader, and after SIGKILL of the leader one new leader within TTL + retry delay', async () => {
    const prefix = `t-${randomUUID()}`;
    const bridges = await startBridges(3, envFor(prefix));
    const first = await waitForSingleLeader(bridges);
    expect(await maxConcurrentLeaders(bridges, 2_000)).toBe(1);
    const record = await redis.conn.hgetall(keyLayout(prefix).leader);
    expect(record['id']).toBe(first.bridge.id);
    expect(Number(record['epoch'])).toBe(first.epoch);

    const killedAt = Date.now();
    await first.bridge.proc.kill();
    const rest = bridges.filter((b) => b !== first.bridge);
    const second = await waitForSingleLeader(rest);
    const failoverMs = Date.now() - killedAt;
    expect(second.bridge.id).not.toBe(first.bridge.id);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    // TTL (1000) + retry delay (100) + jitter (50); the rest is slack for a loaded 2-core machine.
    expect(failoverMs).toBeLessThan(1_000 + 100 + 50 + 3_000);
    expect(await maxConcurrentLeaders(rest, 1_000)).toBe(1);
  });

  it('SIGTERM hands leadership over at once: a standby leads long before the lease could expire, exit code 0', async () => {
    const prefix = `t-${randomUUID()}`;
    // Long lease and poll interval: a standby that merely polled would need ≥ 10 s.
    const bridges = await startBridges(
      3,
      envFor(prefix, {
        AB_LEADER_LEASE_TTL_MS: '10000',
        AB_LEADER_EXTEND_BEFORE_MS: '5000',
        AB_LEADER_RETRY_DELAY_MS: '10000',
      }),
    );
    const first = await waitForSingleLeader(bridges);
    const termAt = Date.now();
    const exited = first.bridge.proc.terminate();
    const rest = bridges.filter((b) => b !== first.bridge);
    const second = await waitForSingleLeader(rest);
    const handoverMs = Date.now() - termAt;
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(second.epoch).toBe(first.epoch + 1);
    expect(handoverMs).toBeLessThan(5_000);
    expect(first.bridge.proc.logs).toMatch(/stepped down/);
  });

  it('SIGSTOP the leader for 2×TTL, then SIGCONT: a new leader was elected, the old epoch is fenced, the old leader steps down, epochs never go backwards', async () => {
    const prefix = `t-${randomUUID()}`;
    const keys = keyLayout(prefix);
    const bridges = await startBridges(3, envFor(prefix));
    const first = await waitForSingleLeader(bridges);
    // Let the leader publish under its epoch first.
    await waitFor('state published by the first leader', async () =>
      (await historyOf(prefix)).some((t) => t.epoch === first.epoch),
    );

    first.bridge.proc.signal('SIGSTOP');
    await sleep(2_000);
    const others = bridges.filter((b) => b !== first.bridge);
    const second = await waitForSingleLeader(others);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    // The new leader's takeover ensure publishes its result under the new epoch.
    await waitFor('result published by the new leader', async () => {
      const raw = await redis.conn.get(keys.integrationResult);
      return raw !== null && (JSON.parse(raw) as { epoch: number }).epoch === second.epoch;
    });
    first.bridge.proc.signal('SIGCONT');

    // The old leader notices on its own (expired lease / newer epoch announced) and steps down.
    await waitFor(
      'old leader stepped down',
      async () => {
        const s = await first.bridge.status();
        return !s.leader.isLeader && /stepped down/.test(s.leader.lastError ?? '') ? s : null;
      },
      { timeoutMs: 10_000 },
    );
    // Any write under the old epoch is rejected as fenced.
    const fencing = new FencingStore(redis.conn, keys);
    await expect(fencing.write(first.epoch, { mode: 'set', key: keys.integrationHealth, value: '{}' })).rejects.toThrow(
      FencedError,
    );
    await expect(
      fencing.write(first.epoch, { mode: 'set', key: keys.integrationHealth, value: '{}' }),
    ).rejects.toMatchObject({
      epoch: first.epoch,
      currentEpoch: second.epoch,
    });
    // Still exactly one leader, the new one.
    const now = await waitForSingleLeader(bridges);
    expect(now.epoch).toBeGreaterThanOrEqual(second.epoch);
    await sleep(1_500);
    const epochs = (await historyOf(prefix)).map((t) => t.epoch);
    expect(epochs.length).toBeGreaterThan(0);
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
    expect(first.bridge.proc.logs).toMatch(/leadership ending/);
  });

  it('the lease key deleted behind the leader back → the leader steps down and a leader with a higher epoch follows', async () => {
    const prefix = `t-${randomUUID()}`;
    const keys = keyLayout(prefix);
    const bridges = await startBridges(2, envFor(prefix));
    const first = await waitForSingleLeader(bridges);
    expect(await redis.conn.exists(keys.leaderLease)).toBe(1);
    await redis.conn.del(keys.leaderLease);
    await waitFor(
      'leader stepped down after losing its lease',
      () => /"reason":"lease extension failed[^\n]*"msg":"stepped down"/.test(first.bridge.proc.logs),
      { timeoutMs: 10_000 },
    );
    const next = await waitForSingleLeader(bridges);
    expect(next.epoch).toBeGreaterThan(first.epoch);
  });
});
