/**
 * Leader/integration-lifecycle and failure figures with real processes (default settings unless noted),
 * in this order (a section with 0 trials is skipped):
 *
 * 1. Idle Redis load (`BENCH_IDLE_SECONDS`, 60): commands/s of an ACTIVE, idle 2-bridge + 1-gateway
 *    cluster (test/bench/leader/idle-load.ts).
 * 2. Pause after a replica SIGKILL (`BENCH_KILL_TRIALS`, 10): SIGKILL of a bridge holding event jobs until
 *    the runs it held have committed them (test/bench/leader/replica-kill.ts).
 * 3. Leader failover after SIGKILL (`BENCH_FAILOVER_TRIALS`, 10): until a new leader is elected and has
 *    published its integration result (test/bench/leader/leader-failover.ts).
 * 4. Time to FAILED after the lock quorum is lost (`BENCH_QUORUM_TRIALS`, 5): 2 bridges + 1 gateway over 3
 *    lock masters, ACTIVE; two masters are killed (SIGKILL) or frozen (SIGSTOP, a partition) at once; the
 *    time until the published state is FAILED. The masters come back, the cluster returns to ACTIVE.
 * 5. Cold starts (`BENCH_COLD_STARTS`, 20; `BENCH_COLD_STARTS_NAIVE`, 5): 2 bridges + 2 gateways started
 *    together (as `npm start` does) on kept state, until ACTIVE, then stopped cleanly; counts cold starts
 *    whose transitions were anything but UNINITIALIZED → INITIALIZING → ACTIVE (… → UNINITIALIZED on stop),
 *    and those that went FAILED. Side by side with the start-up grace switched off
 *    (AB_HEALTH_STARTUP_GRACE_MS=0, the old behaviour).
 *
 *   npm run bench:leader
 *   BENCH_IDLE_SECONDS=0 BENCH_KILL_TRIALS=10 BENCH_FAILOVER_TRIALS=0 BENCH_QUORUM_TRIALS=0 \
 *     BENCH_COLD_STARTS=0 BENCH_COLD_STARTS_NAIVE=0 npm run bench:leader
 */
import { randomUUID } from 'node:crypto';
import { keyLayout, type PublishedState, type StateTransition } from '@agent-bridge/protocol';
import {
  type RedisServer,
  destroyAllRedis,
  killAllServices,
  sleep,
  startRedis,
  startRedisMasters,
  waitFor,
} from '@agent-bridge/testing';
import { Redis } from 'ioredis';
import { startService, stats } from './leader/common';
import { idleLoad } from './leader/idle-load';
import { leaderFailover } from './leader/leader-failover';
import { replicaKill } from './leader/replica-kill';

const env = process.env;
const QUORUM_TRIALS = Number(env['BENCH_QUORUM_TRIALS'] ?? 5);
const COLD_STARTS = Number(env['BENCH_COLD_STARTS'] ?? 20);
const COLD_STARTS_NAIVE = Number(env['BENCH_COLD_STARTS_NAIVE'] ?? 5);
const IDLE_SECONDS = Number(env['BENCH_IDLE_SECONDS'] ?? 60);
const KILL_TRIALS = Number(env['BENCH_KILL_TRIALS'] ?? 10);
const FAILOVER_TRIALS = Number(env['BENCH_FAILOVER_TRIALS'] ?? 10);

async function quorumLoss(data: RedisServer, redis: Redis): Promise<void> {
  const masters = await startRedisMasters(3);
  const prefix = `bench-${randomUUID()}`;
  const keys = keyLayout(prefix);
  const common = { REDIS_URL: data.url, AB_KEY_PREFIX: prefix, REDIS_LOCK_URLS: masters.map((m) => m.url).join(',') };
  await Promise.all([
    startService('bridge', 'qb1', common),
    startService('bridge', 'qb2', common),
    startService('gateway', 'qgw', common),
  ]);
  const state = async (): Promise<string | undefined> =>
    (JSON.parse((await redis.get(keys.integrationState)) ?? 'null') as PublishedState | null)?.state;
  const out: Record<'kill' | 'pause', number[]> = { kill: [], pause: [] };
  for (let t = 0; t < QUORUM_TRIALS; t++) {
    for (const fault of ['kill', 'pause'] as const) {
      await waitFor('ACTIVE', async () => (await state()) === 'ACTIVE', { timeoutMs: 120_000, intervalMs: 50 });
      await sleep(Math.floor(Math.random() * 3_000));
      const lost = masters.slice(0, 2);
      const t0 = Date.now();
      if (fault === 'kill') await Promise.all(lost.map((m) => m.kill()));
      else for (const m of lost) m.pause();
      await waitFor('FAILED', async () => (await state()) === 'FAILED', { timeoutMs: 120_000, intervalMs: 20 });
      out[fault].push(Date.now() - t0);
      if (fault === 'kill') await Promise.all(lost.map((m) => m.restart()));
      else for (const m of lost) m.resume();
      process.stderr.write('.');
    }
  }
  await killAllServices();
  process.stderr.write('\n');
  console.log('time from losing the lock quorum (2 of 3 masters) to a published FAILED, default settings:');
  console.log(`  masters killed (SIGKILL):   ${stats(out.kill)}`);
  console.log(`  masters frozen (SIGSTOP):   ${stats(out.pause)}`);
}

async function coldStarts(data: RedisServer, redis: Redis, n: number, graceMs: string | null): Promise<void> {
  const prefix = `bench-${randomUUID()}`;
  const keys = keyLayout(prefix);
  const common: Record<string, string> = { REDIS_URL: data.url, AB_KEY_PREFIX: prefix };
  if (graceMs !== null) common['AB_HEALTH_STARTUP_GRACE_MS'] = graceMs;
  const toActive: number[] = [];
  let seen = 0;
  let withFailed = 0;
  let otherThanNormal = 0;
  for (let i = 0; i < n; i++) {
    const t0 = Date.now();
    const procs = await Promise.all([
      startService('bridge', `c${i}b1`, common),
      startService('bridge', `c${i}b2`, common),
      startService('gateway', `c${i}gw1`, common),
      startService('gateway', `c${i}gw2`, common),
    ]);
    await waitFor(
      'ACTIVE',
      async () =>
        (JSON.parse((await redis.get(keys.integrationState)) ?? 'null') as PublishedState | null)?.state === 'ACTIVE',
      { timeoutMs: 180_000, intervalMs: 50 },
    );
    toActive.push(Date.now() - t0);
    await Promise.all(procs.slice(2).map((p) => p.terminate()));
    await Promise.all(procs.slice(0, 2).map((p) => p.terminate()));
    const all = (await redis.lrange(keys.integrationHistory, 0, -1))
      .map((r) => JSON.parse(r) as StateTransition)
      .reverse();
    const path = all.slice(seen).map((t) => `${t.from}>${t.to}`);
    seen = all.length;
    if (path.some((p) => p.endsWith('>FAILED'))) withFailed++;
    if (path.join(' ') !== 'UNINITIALIZED>INITIALIZING INITIALIZING>ACTIVE ACTIVE>UNINITIALIZED') otherThanNormal++;
    process.stderr.write(path.some((p) => p.endsWith('>FAILED')) ? 'F' : '.');
  }
  process.stderr.write('\n');
  const label = graceMs === null ? 'default settings' : `AB_HEALTH_STARTUP_GRACE_MS=${graceMs} (no grace, as before)`;
  console.log(
    `${n} cold starts (2 bridges + 2 gateways started together, kept state), ${label}: ` +
      `${withFailed} went FAILED, ${otherThanNormal} took another path than ` +
      `UNINITIALIZED → INITIALIZING → ACTIVE → (stop) UNINITIALIZED; start → ACTIVE ${stats(toActive)}`,
  );
}

async function main(): Promise<void> {
  const data = await startRedis();
  const redis = new Redis(data.url);
  try {
    if (IDLE_SECONDS > 0) await idleLoad(data, redis, IDLE_SECONDS);
    if (KILL_TRIALS > 0) await replicaKill(data, redis, KILL_TRIALS);
    if (FAILOVER_TRIALS > 0) await leaderFailover(data, redis, FAILOVER_TRIALS);
    if (QUORUM_TRIALS > 0) await quorumLoss(data, redis);
    if (COLD_STARTS > 0) await coldStarts(data, redis, COLD_STARTS, null);
    if (COLD_STARTS_NAIVE > 0) await coldStarts(data, redis, COLD_STARTS_NAIVE, '0');
  } finally {
    redis.disconnect();
    await killAllServices();
    await destroyAllRedis();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
