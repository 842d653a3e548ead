import { randomUUID } from 'node:crypto';
import type { CheckResult, HealthStatus, PublishedState } from '@agent-bridge/protocol';
import { keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { loadConfig } from '@agent-bridge/config';
import {
  type RedisServer,
  destroyAllRedis,
  killAllServices,
  sleep,
  startRedis,
  startRedisMasters,
  waitFor,
} from '@agent-bridge/testing';
import { startBridges, startGateway, statuses, waitForSingleLeader } from './harness';

jest.setTimeout(180_000);

let data: RedisServer;
let masters: RedisServer[];
let conn: RedisConnection;

beforeAll(async () => {
  data = await startRedis();
  masters = await startRedisMasters(3);
  conn = createRedis(loadConfig({ env: { REDIS_URL: data.url } }), 'command');
});
afterEach(killAllServices);
afterAll(async () => {
  await killAllServices();
  await closeRedis(conn);
  await destroyAllRedis();
});

describe('guarantee 2.4 — Redlock over three independent masters', () => {
  it('one master killed → election still works; two killed → nobody leads and the state says why', async () => {
    const prefix = `t-${randomUUID()}`;
    const keys = keyLayout(prefix);
    const bridges = await startBridges(3, {
      REDIS_URL: data.url,
      AB_KEY_PREFIX: prefix,
      REDIS_LOCK_URLS: masters.map((m) => m.url).join(','),
      AB_LEADER_LEASE_TTL_MS: '3000',
      AB_LEADER_EXTEND_BEFORE_MS: '1500',
    });
    const first = await waitForSingleLeader(bridges);
    // The lease lives on the lock masters, not in the data Redis.
    expect(await conn.exists(keys.leaderLease)).toBe(0);
    const holders = await Promise.all(masters.map((m) => m.cli('get', keys.leaderLease)));
    expect(holders.filter((v) => v.length > 0)).toHaveLength(3);

    // One master down: the leader keeps its lease (2/3 quorum) ...
    await masters[0]?.kill();
    await sleep(4_000);
    const still = await waitForSingleLeader(bridges);
    expect(still.bridge.id).toBe(first.bridge.id);
    expect(still.epoch).toBe(first.epoch);
    // ... and a new election still works with two of three masters.
    await first.bridge.proc.kill();
    const rest = bridges.filter((b) => b !== first.bridge);
    const second = await waitForSingleLeader(rest, 30_000);
    expect(second.epoch).toBeGreaterThan(first.epoch);

    // Two masters down: no quorum, so the leader steps down and nobody can lead.
    await masters[1]?.kill();
    await waitFor(
      'no leader',
      async () => {
        const s = await statuses(rest);
        return s.length === 2 && s.every((x) => !x.leader.isLeader) ? s : null;
      },
      { timeoutMs: 20_000 },
    );
    await sleep(3_000);
    const after = await statuses(rest);
    expect(after.map((s) => s.leader.isLeader)).toEqual([false, false]);
    for (const s of after) {
      expect(s.leader.lastError).toMatch(
        /^lock quorum unavailable: [01]\/3 lock masters agreed \(quorum 2\);.* 2 unreachable/,
      );
    }
    expect(await conn.exists(keys.leader)).toBe(0);

    // The published state says why: the ex-leader's last fenced write before resigning.
    const published = JSON.parse((await conn.get(keys.integrationState)) ?? 'null') as PublishedState;
    expect(published.state).toBe('FAILED');
    expect(published.epoch).toBe(second.epoch);
    expect(published.reason).toMatch(/lost its lease and no replica can lead/);
    expect(published.failingChecks.map((c: CheckResult) => c.name)).toEqual(['lease']);

    // And every replica's health check names it.
    const standby = rest[0];
    if (!standby) throw new Error('no standby');
    const res = await fetch(`${standby.url}/integration/health`);
    const health = (await res.json()) as HealthStatus;
    const lease = health.checks.find((c) => c.name === 'lease');
    expect(lease?.severity).toBe('fail');
    expect(lease?.detail).toMatch(/no leader: .*quorum/);
    expect(health.leader.leaderId).toBeNull();
  });
});

describe('guarantee 2.4 — lock quorum lost while ACTIVE', () => {
  it.each([
    ['killed (connection refused)', 'kill'],
    ['paused with SIGSTOP (a partition: no answer at all)', 'pause'],
  ] as const)(
    'two of three masters %s at once → the published state leaves ACTIVE for FAILED (lease check), no leader',
    async (_what, fault) => {
      const quorum = await startRedisMasters(3);
      const prefix = `t-${randomUUID()}`;
      const keys = keyLayout(prefix);
      // Default lease timing (the harness's fast settings are for failover tests).
      const env = {
        REDIS_URL: data.url,
        AB_KEY_PREFIX: prefix,
        REDIS_LOCK_URLS: quorum.map((m) => m.url).join(','),
        AB_LEADER_LEASE_TTL_MS: '3000',
        AB_LEADER_EXTEND_BEFORE_MS: '1500',
        AB_LEADER_RETRY_DELAY_MS: '500',
        AB_LEADER_RETRY_JITTER_MS: '200',
        REDIS_COMMAND_TIMEOUT_MS: '5000',
        REDIS_CONNECT_TIMEOUT_MS: '5000',
        AB_HEALTH_PROBE_LATENCY_WARN_MS: '10000',
      };
      const bridges = await startBridges(2, env);
      await startGateway('gw1', env);
      await waitForSingleLeader(bridges);
      const state = async (): Promise<PublishedState | null> =>
        JSON.parse((await conn.get(keys.integrationState)) ?? 'null') as PublishedState | null;
      await waitFor('ACTIVE', async () => (await state())?.state === 'ACTIVE', { timeoutMs: 60_000 });

      const lost = quorum.slice(0, 2);
      const lostAt = Date.now();
      if (fault === 'kill') await Promise.all(lost.map((m) => m.kill()));
      else for (const m of lost) m.pause();
      try {
        const failed = await waitFor(
          'FAILED after quorum loss',
          async () => {
            const s = await state();
            return s?.state === 'FAILED' ? s : null;
          },
          { timeoutMs: 45_000 },
        );
        // The documented bound (docs/guarantees.md 2.4): lease TTL + absentFailMs × 1.25 = 6.75 s with these
        // settings; measured at most 6.4 s (npm run bench:leader, BENCHMARKS.md). Twice the bound leaves room for
        // a loaded 2-core CI box and still fails a detection that waits for some longer timeout instead.
        expect(Date.now() - lostAt).toBeLessThan(2 * (3_000 + 1.25 * 3_000));
        expect(failed.failingChecks.map((c: CheckResult) => c.name)).toEqual(['lease']);
        expect(failed.reason).toMatch(/no replica can lead|no leader/);
        // The last leader may publish FAILED itself (its lease check fails) while its record still lives: the
        // record expires with the lease (3 s here), and then nobody leads. A full CI run read it 1 there.
        await waitFor('no leader record', async () => (await conn.exists(keys.leader)) === 0, {
          timeoutMs: 3_000 + 2_000,
        });
        await waitFor('no replica leads', async () => (await statuses(bridges)).every((x) => !x.leader.isLeader), {
          timeoutMs: 5_000,
        });
        // The history shows the way there (never straight from a stale ACTIVE to nothing).
        const history = (await conn.lrange(keys.integrationHistory, 0, 0)).map((r) => JSON.parse(r) as { to: string });
        expect(history[0]?.to).toBe('FAILED');
      } finally {
        if (fault === 'pause') for (const m of lost) m.resume();
      }
    },
  );
});
