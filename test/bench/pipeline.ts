/**
 * Pipeline benchmark: end-to-end throughput and latency of agent-bridge (agent SDK → BullMQ → bridge
 * replica → Redis adapter → gateway → client SDK) side by side, in the same run and on the same Redis,
 * with the NAIVE glue (a BullMQ worker calling `io.to(room).emit` through the Socket.IO Redis adapter, raw
 * socket.io-client subscribers; no commit, no ordering, no replay).
 *
 * Scenarios: paced 500 events/s, paced 2,000 events/s, and a burst for the maximum throughput. For each:
 * p50/p99/max latency (emit → delivered to the app, same host clock), delivered events/s, and what the
 * app saw lost / duplicated / out of order. Loopback only; bounded in time and count.
 *
 *   npm run bench:pipeline            (env: BENCH_SECONDS=5 BENCH_BURST=20000 BENCH_RUNS=50 BENCH_CONCURRENCY=16)
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentPublisher, type RunHandle } from '@agent-bridge/agent-sdk';
import { type BridgeClient, connect } from '@agent-bridge/client';
import { loadConfig } from '@agent-bridge/config';
import { signToken } from '@agent-bridge/auth';
import type { EventEnvelope } from '@agent-bridge/protocol';
import { ServiceProcess, destroyAllRedis, sleep, startRedis } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Socket, io as ioClient } from 'socket.io-client';

const ROOT = join(__dirname, '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const BURST = Number(process.env['BENCH_BURST'] ?? 20_000);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 50);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
const CLIENTS = 10;
const DRAIN_MS = 20_000;
const PAYLOAD = { delta: 'x'.repeat(200) };

/** What one pipeline's subscribers saw in one scenario. */
class Tally {
  private readonly seen = new Map<string, Set<number>>();
  private readonly maxSeq = new Map<string, number>();
  readonly latencies: number[] = [];
  unique = 0;
  duplicates = 0;
  outOfOrder = 0;
  lastAt = 0;

  on(event: EventEnvelope): void {
    const now = Date.now();
    let set = this.seen.get(event.runId);
    if (!set) this.seen.set(event.runId, (set = new Set()));
    if (set.has(event.seq)) {
      this.duplicates++;
      return;
    }
    set.add(event.seq);
    this.unique++;
    const max = this.maxSeq.get(event.runId) ?? 0;
    if (event.seq < max) this.outOfOrder++;
    else this.maxSeq.set(event.runId, event.seq);
    this.latencies.push(now - event.ts);
    this.lastAt = now;
  }
}

interface Row {
  scenario: string;
  pipeline: string;
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  p50: number;
  p99: number;
  max: number;
  rate: number;
  /** Time the producer took to hand every event to the queue. */
  emitMs: number;
  /** Redis commands (all clients, Lua calls counted once) per delivered event. */
  redisPerEvent: number;
  /** CPU ms per 1,000 delivered events of the worker process and of the gateway process. */
  workerCpu: number;
  gatewayCpu: number;
}

/** Total commands Redis has executed (INFO commandstats), to attribute work per event. */
async function redisCalls(admin: Redis): Promise<number> {
  const stats = await commandStats(admin);
  return [...stats.values()].reduce((a, b) => a + b, 0);
}

/** CPU time (user + system, ms) a process has used so far; NaN where /proc is not available. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return NaN;
  }
}

interface Sample {
  calls: number;
  worker: number;
  gateway: number;
}

async function sample(p: Pipeline): Promise<Sample> {
  return { calls: await redisCalls(admin), worker: cpuMs(p.pids.worker), gateway: cpuMs(p.pids.gateway) };
}

const VERBOSE = process.env['BENCH_VERBOSE'] === '1';
let statsBefore = new Map<string, number>();

/** Calls per Redis command (INFO commandstats). */
async function commandStats(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) out.set(m[1]!, Number(m[2]));
  if (VERBOSE) {
    const delta = [...out].map(([k, v]) => [k, v - (statsBefore.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
    if (statsBefore.size > 0) {
      console.log(
        '  redis commands since the previous sample:',
        delta
          .sort((a, b) => b[1] - a[1])
          .slice(0, 12)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      );
    }
    statsBefore = out;
  }
  return out;
}

let admin: Redis;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A pipeline under test: subscribes runs, emits one event of a run, tears down. */
interface Pipeline {
  name: string;
  /** Worker (bridge replica / naive worker) and gateway processes, for CPU accounting. */
  pids: { worker: number; gateway: number };
  prepare(runIds: string[], tally: Tally): Promise<void>;
  /** Emits one event for each listed run (in order); resolves when accepted by the producer. */
  emit(runIds: string[]): Promise<void>;
  /** Tears down the scenario's clients; may return a note on what the client SDK absorbed. */
  finish(): Promise<string | void>;
}

function ours(
  config: ReturnType<typeof loadConfig>,
  gatewayUrl: string,
  publisher: AgentPublisher,
  pids: Pipeline['pids'],
): Pipeline {
  let handles = new Map<string, RunHandle>();
  let clients: BridgeClient[] = [];
  return {
    name: 'agent-bridge',
    pids,
    async prepare(runIds, tally) {
      handles = new Map();
      for (const [i, runId] of runIds.entries()) {
        handles.set(runId, await publisher.startRun({ userId: `bench-${i % CLIENTS}`, agent: 'bench', runId }));
      }
      clients = Array.from({ length: CLIENTS }, (_, u) =>
        connect(gatewayUrl, { token: () => signToken(`bench-${u}`, config.auth) }),
      );
      await Promise.all(runIds.map((runId, i) => clients[i % CLIENTS]!.subscribe(runId, (e) => tally.on(e)).ready));
    },
    async emit(runIds) {
      await Promise.all(runIds.map((runId) => handles.get(runId)!.emit('agent_thinking', PAYLOAD)));
    },
    async finish() {
      for (const h of handles.values()) h.close();
      const totals = new Map<string, number>();
      for (const c of clients) {
        for (const [k, v] of Object.entries(c.stats())) totals.set(k, (totals.get(k) ?? 0) + v);
        c.close();
      }
      const t = (k: string): number => totals.get(k) ?? 0;
      return (
        `client SDK absorbed: ${t('duplicatesDropped')} duplicate/overlap deliveries, ${t('earlyArrivals')} early ` +
        `(out-of-order) arrivals, ${t('gapFills')} gap fills; ${t('liveEvents')} live + ${t('replayedEvents')} replayed events on the wire`
      );
    },
  };
}

function naive(redisUrl: string, gatewayUrl: string, pids: Pipeline['pids']): Pipeline {
  const url = new URL(redisUrl);
  const conn = new Redis({ host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null });
  const queue = new Queue('naive-events', { connection: conn, prefix: 'naive:{bull}' });
  let sockets: Socket[] = [];
  const seqs = new Map<string, number>();
  return {
    name: 'naive glue',
    pids,
    async prepare(runIds, tally) {
      sockets = Array.from({ length: CLIENTS }, () =>
        ioClient(gatewayUrl, { transports: ['websocket'], forceNew: true }),
      );
      for (const s of sockets) s.on('agent_event', (e: EventEnvelope) => tally.on(e));
      await Promise.all(runIds.map((runId, i) => sockets[i % CLIENTS]!.emitWithAck('subscribe', { runId })));
    },
    async emit(runIds) {
      const jobs = runIds.map((runId) => {
        const seq = (seqs.get(runId) ?? 0) + 1;
        seqs.set(runId, seq);
        const event: EventEnvelope = {
          id: `evt-${randomUUID()}`,
          runId,
          seq,
          epoch: 0,
          type: 'agent_thinking',
          ts: Date.now(),
          payload: PAYLOAD,
        };
        return { name: 'event', data: event, opts: { removeOnComplete: { count: 1_000 } } };
      });
      await queue.addBulk(jobs);
    },
    async finish() {
      for (const s of sockets) s.disconnect();
    },
  };
}

async function drain(tally: Tally, sent: number): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  while (tally.unique < sent && Date.now() < deadline) await sleep(20);
  await sleep(300); // late duplicates still count
}

function row(
  scenario: string,
  p: Pipeline,
  tally: Tally,
  sent: number,
  elapsedMs: number,
  emitMs: number,
  before: Sample,
  after: Sample,
): Row {
  const per1k = (v: number): number => Math.round((v / Math.max(1, tally.unique)) * 1000);
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  return {
    scenario,
    pipeline: p.name,
    sent,
    delivered: tally.unique,
    lost: sent - tally.unique,
    duplicated: tally.duplicates,
    outOfOrder: tally.outOfOrder,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    rate: Math.round((tally.unique / elapsedMs) * 1000),
    emitMs,
    redisPerEvent: Math.round(((after.calls - before.calls) / Math.max(1, tally.unique)) * 10) / 10,
    workerCpu: per1k(after.worker - before.worker),
    gatewayCpu: per1k(after.gateway - before.gateway),
  };
}

async function paced(p: Pipeline, rate: number): Promise<Row> {
  const runIds = Array.from({ length: RUNS }, (_, i) => `bench-${rate}-${i}-${randomUUID().slice(0, 6)}`);
  const tally = new Tally();
  await p.prepare(runIds, tally);
  const before = await sample(p);
  const total = rate * SECONDS;
  const pending: Promise<void>[] = [];
  const start = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) * rate) / 1000) + 1);
    if (due > sent) {
      const batch: string[] = [];
      for (let i = sent; i < due; i++) batch.push(runIds[i % RUNS]!);
      sent = due;
      pending.push(p.emit(batch));
    }
    await sleep(2);
  }
  await Promise.all(pending);
  const emitMs = Date.now() - start;
  await drain(tally, total);
  const after = await sample(p);
  note(`paced ${rate}/s`, p, await p.finish());
  return row(`paced ${rate}/s`, p, tally, total, Math.max(1, tally.lastAt - start), emitMs, before, after);
}

async function burst(p: Pipeline): Promise<Row> {
  const runIds = Array.from({ length: RUNS }, (_, i) => `bench-max-${i}-${randomUUID().slice(0, 6)}`);
  const tally = new Tally();
  await p.prepare(runIds, tally);
  const before = await sample(p);
  const start = Date.now();
  const chunk = 1_000;
  for (let sent = 0; sent < BURST; sent += chunk) {
    const batch: string[] = [];
    for (let i = sent; i < Math.min(BURST, sent + chunk); i++) batch.push(runIds[i % RUNS]!);
    await p.emit(batch);
  }
  const emitMs = Date.now() - start;
  await drain(tally, BURST);
  const after = await sample(p);
  note(`max (burst ${BURST})`, p, await p.finish());
  return row(`max (burst ${BURST})`, p, tally, BURST, Math.max(1, tally.lastAt - start), emitMs, before, after);
}

const notes: string[] = [];
function note(scenario: string, p: Pipeline, text: string | void): void {
  if (text) notes.push(`${scenario}, ${p.name}: ${text}`);
}

function printTable(rows: Row[]): void {
  const header = [
    'scenario',
    'pipeline',
    'sent',
    'delivered',
    'lost',
    'dup',
    'out-of-order',
    'p50 ms',
    'p99 ms',
    'max ms',
    'events/s',
    'emit ms',
    'redis cmds/event',
    'worker cpu ms/1k',
    'gateway cpu ms/1k',
  ];
  const cells = rows.map((r) => [
    r.scenario,
    r.pipeline,
    String(r.sent),
    String(r.delivered),
    String(r.lost),
    String(r.duplicated),
    String(r.outOfOrder),
    String(r.p50),
    String(r.p99),
    String(r.max),
    String(r.rate),
    String(r.emitMs),
    String(r.redisPerEvent),
    String(r.workerCpu),
    String(r.gatewayCpu),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string =>
    c.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

async function main(): Promise<void> {
  const redis = await startRedis();
  admin = new Redis(redis.port, '127.0.0.1');
  const prefix = `bench-${randomUUID().slice(0, 6)}`;
  const env = {
    REDIS_URL: redis.url,
    AB_KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    PORT: '0',
    AB_WORKER_CONCURRENCY: String(CONCURRENCY),
    AB_JWT_SECRET: 'bench-secret-of-sufficient-length',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_TRACES_EXPORTER: 'none',
  };
  const config = loadConfig({ env });
  const start = (entry: string, name: string, extra: Record<string, string> = {}): ServiceProcess =>
    ServiceProcess.start({ entry: join(ROOT, entry), name, env: { ...env, AB_INSTANCE_ID: name, ...extra } });
  const bridge = start('services/bridge/src/main.ts', 'bench-bridge');
  const gateway = start('services/gateway/src/main.ts', 'bench-gateway');
  const naiveEnv = { NAIVE_KEY: 'naive:socket.io', NAIVE_CONCURRENCY: String(CONCURRENCY) };
  const naiveWorker = start('test/bench/naive-worker.ts', 'naive-worker', naiveEnv);
  const naiveGateway = start('test/bench/naive-gateway.ts', 'naive-gateway', naiveEnv);
  const procs = [bridge, gateway, naiveWorker, naiveGateway];
  let publisher: AgentPublisher | null = null;
  try {
    await bridge.waitForOutput(/bridge ready/, 60_000);
    const gwPort = Number((await gateway.waitForOutput(/gateway ready on port (\d+)/, 60_000))[1]);
    await naiveWorker.waitForOutput(/naive worker ready/, 60_000);
    const naivePort = Number((await naiveGateway.waitForOutput(/naive gateway ready on port (\d+)/, 60_000))[1]);
    publisher = await AgentPublisher.create({ config });
    const pipelines = [
      ours(config, `http://127.0.0.1:${gwPort}`, publisher, { worker: bridge.pid, gateway: gateway.pid }),
      naive(redis.url, `http://127.0.0.1:${naivePort}`, { worker: naiveWorker.pid, gateway: naiveGateway.pid }),
    ];
    console.log(
      `pipeline benchmark: ${RUNS} runs, ${CLIENTS} client connections, worker concurrency ${CONCURRENCY}, ` +
        `1 worker process and 1 gateway each, ${JSON.stringify(PAYLOAD).length}-byte payloads, paced for ${SECONDS} s, burst ${BURST}`,
    );
    const rows: Row[] = [];
    for (const rate of [500, 2_000]) for (const p of pipelines) rows.push(await paced(p, rate));
    for (const p of pipelines) rows.push(await burst(p));
    console.log('');
    printTable(rows);
    console.log('');
    for (const n of notes) console.log(n);
  } finally {
    await publisher?.close();
    admin.disconnect();
    await Promise.all(procs.map((p) => p.kill()));
    await destroyAllRedis();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
