/**
 * Replica scaling benchmark: does a bridge replica more add capacity, and what does it cost per event?
 * 1 and 3 real bridge processes (`services/bridge/src/main.ts`, default settings) side by side in the same
 * run, rounds alternating the order, on one redis-server this script starts. Each round and size:
 *
 * - drain: a backlog of single `event` jobs (the shape independent producers give: one job per event,
 *   many runs) is enqueued while the queue is paused, then released; delivered events/s, CPU µs per event
 *   of all bridge processes summed, redis-server CPU µs per event, Redis commands per event;
 * - paced: events enqueued at a fixed rate, one job each; bridge and redis CPU µs per event;
 * - idle: nothing to do; bridge CPU ms/s and Redis commands/s (polling, lock renewals, stalled checks).
 *
 * Each size first drains an unmeasured warm-up of BENCH_WARMUP_EVENTS events per run (JIT, lazy loading).
 * Prints a table of medians (and min–max) and the raw rounds as JSON. Asserts nothing.
 *
 *   npm run bench:replicas
 *   BENCH_VARIANTS=before=<checkout>=3,after=.=3 npm run bench:replicas   (two checkouts, 3 partitions)
 *   env: BENCH_ROUNDS=3 BENCH_RUNS=200 BENCH_EVENTS=50 BENCH_WARMUP_EVENTS=20 BENCH_RATE=1500 BENCH_SECONDS=4 BENCH_SIZES=1,3
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@agent-bridge/config';
import { type EventEnvelope, JobName, eventPartition, eventQueues, keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis, registerRun } from '@agent-bridge/redis';
import { ServiceProcess, destroyAllRedis, sleep, startRedis } from '@agent-bridge/testing';
import { Queue } from 'bullmq';

const ROOT = join(__dirname, '..', '..');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 200);
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 50);
const RATE = Number(process.env['BENCH_RATE'] ?? 1_500);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 4);
const SIZES = (process.env['BENCH_SIZES'] ?? '1,3').split(',').map(Number);
const WARMUP = Number(process.env['BENCH_WARMUP_EVENTS'] ?? 20);
/**
 * `label=root[=partitions],…`: bridge code of other checkouts (e.g. the commit before a change) and the
 * partition count (`AB_EVENT_PARTITIONS`, default 1; jobs go to each run's partition queue), same run.
 */
const VARIANTS = (process.env['BENCH_VARIANTS'] ?? `this=${ROOT}`).split(',').map((v) => {
  const [label, root, partitions] = v.split('=');
  return { label: label!, root: root!, partitions: Number(partitions ?? 1) };
});

function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

interface Probe {
  bridgeMs: number;
  redisMs: number;
  calls: number;
  at: number;
}

interface Result {
  variant: string;
  replicas: number;
  drainRate: number;
  drainBridgeUs: number;
  drainRedisUs: number;
  drainCmds: number;
  /** Share of the drained events that arrived ahead of their run's head (reorder buffer), %. */
  drainBufferedPct: number;
  pacedBridgeUs: number;
  pacedRedisUs: number;
  pacedCmds: number;
  idleBridgeMsPerS: number;
  idleCmdsPerS: number;
}

async function oneSize(redisUrl: string, replicas: number, variant: (typeof VARIANTS)[number]): Promise<Result> {
  const id = randomUUID().slice(0, 8);
  const env = {
    REDIS_URL: redisUrl,
    AB_KEY_PREFIX: `rb-${id}`,
    AB_EVENTS_QUEUE: `ev-${id}`,
    LOG_LEVEL: 'info',
    PORT: '0',
    AB_EVENT_PARTITIONS: String(variant.partitions),
    AB_JWT_SECRET: 'bench-secret-of-sufficient-length',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_TRACES_EXPORTER: 'none',
  };
  const config = loadConfig({ env });
  const keys = keyLayout(config.keyPrefix);
  const conn = createRedis(config, 'command');
  const queues = eventQueues(config.keyPrefix, config.queues.events, variant.partitions).map(
    (ref) => new Queue(ref.name, { connection: conn, prefix: ref.prefix }),
  );
  const queueOf = (runId: string): Queue => queues[eventPartition(runId, variant.partitions)]!;
  const addBulk = async (jobs: { name: string; data: EventEnvelope; opts: object }[]): Promise<void> => {
    const by = new Map<Queue, typeof jobs>();
    for (const j of jobs) by.set(queueOf(j.data.runId), [...(by.get(queueOf(j.data.runId)) ?? []), j]);
    await Promise.all([...by].map(([q, list]) => q.addBulk(list)));
  };
  const bridges = Array.from({ length: replicas }, (_, i) =>
    ServiceProcess.start({
      entry: join(variant.root, 'services/bridge/src/main.ts'),
      name: `bridge-${i}`,
      env: {
        ...env,
        AB_INSTANCE_ID: `bridge-${id}-${i}`,
      },
      // BENCH_CPU_PROF_DIR=dir: each bridge writes a V8 CPU profile there when it exits.
      nodeArgs: process.env['BENCH_CPU_PROF_DIR']
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF_DIR']}`]
        : [],
    }),
  );
  const probe = async (): Promise<Probe> => {
    const [stats, cpu] = await Promise.all([conn.info('commandstats'), conn.info('cpu')]);
    let calls = 0;
    for (const m of stats.matchAll(/cmdstat_[^:]+:calls=(\d+)/g)) calls += Number(m[1]);
    const f = (n: string): number => Number(new RegExp(`${n}:([\\d.]+)`).exec(cpu)?.[1] ?? 0);
    return {
      bridgeMs: bridges.reduce((a, b) => a + cpuMs(b.pid), 0),
      redisMs: (f('used_cpu_user') + f('used_cpu_sys')) * 1000,
      calls,
      at: Date.now(),
    };
  };
  let seqs = new Map<string, number>();
  const makeJobs = (runIds: string[], perRun: number) => {
    const jobs: { name: string; data: EventEnvelope; opts: object }[] = [];
    for (let k = 0; k < perRun; k++) {
      for (const runId of runIds) {
        const seq = (seqs.get(runId) ?? 0) + 1;
        seqs.set(runId, seq);
        const e: EventEnvelope = {
          id: `${runId}-${seq}`,
          runId,
          seq,
          epoch: 0,
          type: 'agent_thinking',
          ts: Date.now(),
          payload: { delta: `token ${seq} `.padEnd(40, 'x') },
        };
        jobs.push({
          name: JobName.Event,
          data: e,
          opts: {
            jobId: e.id,
            attempts: 20,
            backoff: { type: 'exponential', delay: 50 },
            removeOnComplete: { count: 1_000 },
          },
        });
      }
    }
    return jobs;
  };
  const drained = async (timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const cs = await Promise.all(queues.map((q) => q.getJobCounts('wait', 'active', 'delayed', 'prioritized')));
      if (cs.every((c) => Object.values(c).every((v) => v === 0))) return;
      await sleep(50);
    }
    throw new Error('not drained in time');
  };
  try {
    const ports = await Promise.all(
      bridges.map(async (b) => Number((await b.waitForOutput(/bridge ready on http:\/\/[^:]+:(\d+)/, 90_000))[1])),
    );
    const routerCounters = async (): Promise<{ processed: number; buffered: number; duplicates: number }> => {
      const all = await Promise.all(
        ports.map(async (port) => {
          const res = await fetch(`http://127.0.0.1:${port}/status`);
          return ((await res.json()) as { router: { processed: number; buffered: number; duplicates: number } }).router;
        }),
      );
      return all.reduce(
        (a, r) => ({
          processed: a.processed + r.processed,
          buffered: a.buffered + r.buffered,
          duplicates: a.duplicates + r.duplicates,
        }),
        { processed: 0, buffered: 0, duplicates: 0 },
      );
    };
    await sleep(1_000);
    const runIds = Array.from({ length: RUNS }, (_, i) => `r${id}-${i}`);
    await Promise.all(runIds.map((runId) => registerRun(conn, keys, { runId, owner: 'bench' })));
    seqs = new Map();
    // warm-up (not measured): every process JIT-compiles its hot paths first, as it would in production
    await addBulk(makeJobs(runIds, WARMUP));
    await drained(120_000);
    // drain
    await Promise.all(queues.map((q) => q.pause()));
    const jobs = makeJobs(runIds, EVENTS);
    for (let i = 0; i < jobs.length; i += 1_000) await addBulk(jobs.slice(i, i + 1_000));
    const c0 = await routerCounters();
    const d0 = await probe();
    await Promise.all(queues.map((q) => q.resume()));
    await drained(120_000);
    const d1 = await probe();
    const c1 = await routerCounters();
    const total = RUNS * EVENTS;
    // paced
    const p0 = await probe();
    const tickMs = 10;
    const perTick = (RATE * tickMs) / 1_000;
    let sent = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < SECONDS * 1_000) {
      const due = Math.floor(((Date.now() - t0) / tickMs) * perTick) - sent;
      if (due > 0) {
        const batch = makeJobs(runIds.slice(0, 0), 0);
        for (let k = 0; k < due; k++) batch.push(...makeJobs([runIds[(sent + k) % RUNS]!], 1));
        sent += due;
        await addBulk(batch);
      }
      await sleep(tickMs);
    }
    await drained(60_000);
    const p1 = await probe();
    // idle
    await sleep(500);
    const i0 = await probe();
    await sleep(3_000);
    const i1 = await probe();
    // check: every run complete and dense
    const heads = await Promise.all(runIds.map((r) => conn.hget(keys.runMeta(r), 'headSeq')));
    const expected = heads.reduce((a, h, i) => a + (Number(h) === seqs.get(runIds[i]!) ? 1 : 0), 0);
    if (expected !== RUNS) process.stderr.write(`WARNING: only ${expected}/${RUNS} runs at their last seq\n`);
    const us = (a: number, b: number, n: number) => Math.round(((b - a) * 1_000) / n);
    return {
      variant: variant.label,
      replicas,
      drainRate: Math.round((total / (d1.at - d0.at)) * 1_000),
      drainBridgeUs: us(d0.bridgeMs, d1.bridgeMs, total),
      drainRedisUs: us(d0.redisMs, d1.redisMs, total),
      drainCmds: Number(((d1.calls - d0.calls) / total).toFixed(1)),
      drainBufferedPct: Math.round(((c1.buffered - c0.buffered) / total) * 100),
      pacedBridgeUs: us(p0.bridgeMs, p1.bridgeMs, sent),
      pacedRedisUs: us(p0.redisMs, p1.redisMs, sent),
      pacedCmds: Number(((p1.calls - p0.calls) / sent).toFixed(1)),
      idleBridgeMsPerS: Math.round(((i1.bridgeMs - i0.bridgeMs) / (i1.at - i0.at)) * 1_000),
      idleCmdsPerS: Math.round(((i1.calls - i0.calls) / (i1.at - i0.at)) * 1_000),
    };
  } finally {
    await Promise.allSettled(bridges.map((b) => b.terminate()));
    await Promise.all(queues.map((q) => q.close()));
    await closeRedis(conn);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const server = await startRedis();
  const results: Result[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? SIZES : [...SIZES].reverse();
      for (const n of order) {
        for (const v of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
          const r = await oneSize(server.url, n, v);
          results.push(r);
          process.stderr.write(`round ${round + 1} ${JSON.stringify(r)}\n`);
        }
      }
    }
  } finally {
    await destroyAllRedis();
  }
  const cols: (keyof Result)[] = [
    'drainRate',
    'drainBridgeUs',
    'drainRedisUs',
    'drainCmds',
    'drainBufferedPct',
    'pacedBridgeUs',
    'pacedRedisUs',
    'pacedCmds',
    'idleBridgeMsPerS',
    'idleCmdsPerS',
  ];
  const lines = [
    `replica scaling: ${RUNS} runs × ${EVENTS} events drained, then ${RATE} ev/s paced for ${SECONDS} s, then idle; ${ROUNDS} rounds, medians [min–max]`,
    ['variant', 'replicas', ...cols].join(' | '),
  ];
  const of = (label: string, n: number) => results.filter((r) => r.variant === label && r.replicas === n);
  const med = (rs: Result[], c: keyof Result) => median(rs.map((r) => Number(r[c])));
  for (const v of VARIANTS) {
    for (const n of SIZES) {
      const rs = of(v.label, n);
      lines.push(
        [
          v.label,
          String(n),
          ...cols.map((c) => {
            const xs = rs.map((r) => Number(r[c]));
            return `${median(xs)} [${Math.min(...xs)}–${Math.max(...xs)}]`;
          }),
        ].join(' | '),
      );
    }
    const base = of(v.label, SIZES[0]!);
    for (const n of SIZES.slice(1)) {
      const rs = of(v.label, n);
      lines.push(
        `${v.label}: ${n} vs ${SIZES[0] ?? 1} replicas: drain throughput ×${(med(rs, 'drainRate') / med(base, 'drainRate')).toFixed(2)}, ` +
          `bridge CPU/event drain ×${(med(rs, 'drainBridgeUs') / med(base, 'drainBridgeUs')).toFixed(2)}, ` +
          `paced ×${(med(rs, 'pacedBridgeUs') / med(base, 'pacedBridgeUs')).toFixed(2)}`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n${JSON.stringify(results)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
