/**
 * Agents benchmark, the real shape of a deployment: P independent agent PROCESSES × R runs each, every run
 * a token stream that awaits each emit and then waits for its next token slot, with a tool call now and
 * then. agent-bridge and the naive glue (`queue.add` per token → BullMQ worker → `io.to(room).emit` →
 * Redis adapter) run in the SAME run on the same Redis, alternating (the order flips every round).
 *
 * Per side and scenario (paced rates, and `max`: every run emits as fast as its awaited emits go):
 * delivered units/s, p50/p99 emit → app latency, producer lateness, lost / duplicated / out-of-order units,
 * CPU µs per delivered unit per process kind (producers: process.cpuUsage reported by the children;
 * bridge / naive workers and gateways: /proc/<pid>/stat; redis-server: INFO cpu), Redis commands per unit
 * (INFO commandstats delta). A unit is a token or a tool event, numbered per run by the producer, so the
 * figures stay comparable when the agent SDK coalesces tokens into fewer events.
 *
 *   npm run bench:agents -- [--quick] [--rounds 3] [--rates 1000,2000,4000,max] [--replicas 1,2,3]
 *                           [--hog off|on|both] [--producers 8] [--runs 20] [--seconds 6] [--tool-every 25]
 *                           [--out file.json] [--env KEY=VALUE ...]   (--env: agent-bridge config for every process)
 *
 * Results: the JSON (rows per round, summary with medians / min / max, ours ÷ naive ratios) and a table.
 * Loopback only; bounded in time (each phase `--seconds`, drains bounded).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@agent-bridge/config';
import { destroyAllRedis, sleep, startRedis } from '@agent-bridge/testing';
import { Redis } from 'ioredis';
import { commandDelta, commandStats, procCpuUs, redisCpuUs } from './agents/cpu';
import type { Side } from './agents/messages';
import { Producer } from './agents/producers';
import { type Row, printSummary, summarize } from './agents/report';
import { NAIVE_PREFIX, NAIVE_QUEUE, Stack } from './agents/stack';
import { Tally } from './agents/tally';
import { userOf, watch } from './agents/watchers';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    rates: { type: 'string' },
    replicas: { type: 'string' },
    hog: { type: 'string', default: 'off' },
    producers: { type: 'string' },
    runs: { type: 'string' },
    seconds: { type: 'string' },
    'tool-every': { type: 'string', default: '25' },
    concurrency: { type: 'string', default: '64' },
    out: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const quick = args.quick;
const ROUNDS = Number(args.rounds ?? (quick ? 1 : 3));
const RATES = (args.rates ?? (quick ? '1000,max' : '1000,2000,4000,max')).split(',');
const REPLICAS = (args.replicas ?? '1').split(',').map(Number);
const HOGS = args.hog === 'both' ? [false, true] : [args.hog === 'on'];
const P = Number(args.producers ?? (quick ? 2 : 8));
const R = Number(args.runs ?? (quick ? 5 : 20));
const SECONDS = Number(args.seconds ?? (quick ? 2 : 6));
const TOOL_EVERY = Number(args['tool-every']);
const DRAIN_MS = quick ? 15_000 : 60_000;
const OUT = resolve(args.out ?? `test-artifacts/bench/agents-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const EXTRA_ENV = Object.fromEntries(
  args.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
);

let admin: Redis;
let stack: Stack;
let producers: Producer[] = [];

interface Sample {
  commands: Map<string, number>;
  redisUs: number;
  worker: number;
  gateway: number;
  watchersUs: number;
}

async function sample(side: Side): Promise<Sample> {
  const pids = stack.pids(side);
  const sum = (list: number[]): number => list.reduce((a, pid) => a + procCpuUs(pid), 0);
  const me = process.cpuUsage();
  return {
    commands: await commandStats(admin),
    redisUs: await redisCpuUs(admin),
    worker: sum(pids.worker),
    gateway: sum(pids.gateway),
    watchersUs: me.user + me.system,
  };
}

async function phase(
  side: Side,
  scenario: string,
  round: number,
  replicas: number,
  hog: boolean,
  seconds = SECONDS,
): Promise<Row> {
  const rate = scenario === 'max' ? null : Number(scenario);
  const tag = randomUUID().slice(0, 6);
  const runs = Array.from({ length: P * R }, (_, i) => ({ runId: `bench-${side}-${tag}-${i}`, userId: userOf(i) }));
  const slice = (p: number): typeof runs => runs.slice(p * R, (p + 1) * R);
  await Promise.all(producers.map((p, i) => p.request({ type: 'prepare', side, runs: slice(i) }, 'prepared', 120_000)));
  const tally = new Tally();
  const port = side === 'ours' ? stack.gatewayPort : stack.naivePort;
  const config = loadConfig({ env: stack.env });
  const watchers = await watch(
    side,
    `http://127.0.0.1:${port}`,
    config,
    runs.map((r) => r.runId),
    tally,
  );
  try {
    const before = await sample(side);
    const startAt = Date.now() + 100;
    const endAt = startAt + seconds * 1000;
    // Slot interval per run so that all P × R runs together emit `rate` slots per second.
    const intervalMs = rate === null ? 0 : (1000 * P * R) / rate;
    const reports = await Promise.all(
      producers.map((p, i) =>
        p.go(
          {
            type: 'go',
            side,
            runIds: slice(i).map((r) => r.runId),
            intervalMs,
            startAt,
            endAt,
            toolEvery: TOOL_EVERY,
            maxUnitsPerRun: 0,
          },
          seconds * 1000 + 180_000,
        ),
      ),
    );
    const producersDone = Date.now();
    const sent: Record<string, number> = Object.fromEntries(reports.flatMap((r) => Object.entries(r.sent)));
    const total = Object.values(sent).reduce((a, b) => a + b, 0);
    const deadline = Date.now() + DRAIN_MS;
    while (tally.unique < total && Date.now() < deadline) await sleep(20);
    await sleep(300); // late duplicates still count
    const after = await sample(side);
    const res = tally.result(sent);
    const n = Math.max(1, res.deliveredUnits);
    const per = (v: number): number => Math.round((v / n) * 10) / 10;
    const cmds = commandDelta(before.commands, after.commands);
    const cmdTotal = [...cmds.values()].reduce((a, b) => a + b, 0);
    const cpu = {
      producer: per(reports.reduce((a, r) => a + r.cpuUs, 0)),
      worker: per(after.worker - before.worker),
      gateway: per(after.gateway - before.gateway),
      redis: per(after.redisUs - before.redisUs),
      watchers: per(after.watchersUs - before.watchersUs),
      total: 0,
    };
    cpu.total = Math.round((cpu.producer + cpu.worker + cpu.gateway + cpu.redis) * 10) / 10;
    const lat = reports.map((r) => r.lateness);
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    return {
      round,
      replicas,
      hog,
      side,
      scenario: rate === null ? 'max' : `${rate}/s`,
      targetRate: rate,
      sentUnits: total,
      deliveredUnits: res.deliveredUnits,
      wireEvents: res.wireEvents,
      lost: res.lost,
      duplicated: res.duplicated,
      outOfOrder: res.outOfOrder,
      deliveredPerSec: Math.round(res.deliveredUnits / Math.max(0.001, (res.lastAt - startAt) / 1000)),
      p50Ms: res.p50,
      p99Ms: res.p99,
      maxMs: res.max,
      latenessP50Ms: med(lat.map((l) => l.p50)),
      latenessP99Ms: Math.max(...lat.map((l) => l.p99)),
      latenessMaxMs: Math.max(...lat.map((l) => l.max)),
      drainMs: Math.max(0, res.lastAt - producersDone),
      cpuUsPerUnit: cpu,
      redisCmdsPerUnit: per(cmdTotal),
      topCommands: Object.fromEntries(
        [...cmds]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 10)
          .map(([k, v]) => [k, per(v)]),
      ),
    };
  } finally {
    watchers.close();
  }
}

function startHog(): { stop(): void } {
  // One busy core, bounded to an hour in case we die without stopping it.
  const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 3600e3; while (Date.now() < end) {}'], {
    stdio: 'ignore',
  });
  return { stop: () => child.kill('SIGKILL') };
}

let stopping = false;
// Read through a call: TypeScript would keep the flag narrowed across the awaits the signal handlers interleave with.
const stopRequested = (): boolean => stopping;
// Ctrl-C / SIGTERM: stop at the end of the current phase; the JSON keeps what was measured.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.log(`\n${sig}: stopping after this phase`);
    stopping = true;
  });
}

function writeResult(rows: Row[], started: number, partial: boolean): void {
  const result = {
    meta: {
      date: new Date().toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      partial,
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memGB: Math.round(totalmem() / 1e9),
      loadavg: loadavg(),
      producers: P,
      runsPerProducer: R,
      secondsPerPhase: SECONDS,
      toolEvery: TOOL_EVERY,
      workerConcurrency: Number(args.concurrency),
      env: EXTRA_ENV,
      quick,
    },
    summary: summarize(rows),
    rows,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2));
}

async function main(): Promise<void> {
  const started = Date.now();
  const redis = await startRedis();
  admin = new Redis(redis.port, '127.0.0.1');
  stack = new Stack(redis.url, Number(args.concurrency), EXTRA_ENV);
  const rows: Row[] = [];
  let hogProc: { stop(): void } | null = null;
  try {
    producers = Array.from({ length: P }, (_, i) => new Producer(i));
    await Promise.all([
      stack.startGateways(),
      ...producers.map((p) =>
        p.request(
          { type: 'init', env: stack.env, naiveQueue: NAIVE_QUEUE, naivePrefix: NAIVE_PREFIX },
          'ready',
          120_000,
        ),
      ),
    ]);
    console.log(
      `agents benchmark: ${P} producer processes × ${R} runs, tool call every ${TOOL_EVERY} slots, ${SECONDS} s per ` +
        `phase, rates ${RATES.join(',')}, replicas ${REPLICAS.join(',')}, hog ${args.hog}, ${ROUNDS} round(s)`,
    );
    for (const replicas of REPLICAS) {
      if (stopRequested()) break;
      await stack.scaleWorkers(replicas);
      // Warm-up, not recorded: JIT, connections and BullMQ scripts of every process, both sides.
      for (const side of ['ours', 'naive'] as const)
        if (!stopRequested()) await phase(side, 'max', -1, replicas, false, quick ? 1 : 2);
      for (const hog of HOGS) {
        hogProc?.stop();
        hogProc = hog ? startHog() : null;
        for (let round = 0; round < ROUNDS && !stopRequested(); round++) {
          for (const scenario of RATES) {
            const sides: Side[] = round % 2 === 0 ? ['ours', 'naive'] : ['naive', 'ours'];
            for (const side of sides.filter(() => !stopRequested())) {
              const row = await phase(side, scenario, round, replicas, hog);
              rows.push(row);
              writeResult(rows, started, true); // a stopped run keeps what it measured
              console.log(
                `  ${replicas} replica(s)${hog ? ' +hog' : ''} round ${round} ${row.scenario} ${side}: ` +
                  `${row.deliveredPerSec} units/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, ` +
                  `lost ${row.lost} dup ${row.duplicated} ooo ${row.outOfOrder}, cpu ${row.cpuUsPerUnit.total} µs/unit`,
              );
            }
          }
        }
      }
    }
  } finally {
    hogProc?.stop();
    await Promise.all(producers.map((p) => p.stop()));
    await stack.close();
    admin.disconnect();
    await destroyAllRedis();
  }
  console.log('');
  printSummary(summarize(rows));
  writeResult(rows, started, stopping);
  console.log(`\nresults: ${OUT}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
