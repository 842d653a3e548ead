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
import { join } from 'node:path';
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { loadConfig } from '@agent-bridge/config';
import { ServiceProcess, destroyAllRedis, sleep, startRedis } from '@agent-bridge/testing';
import { Redis } from 'ioredis';
import { CLIENTS, PAYLOAD, type Pipeline, naive, ours } from './pipeline/pipelines';
import { type Row, printTable, row } from './pipeline/report';
import { Tally } from './pipeline/tally';
import { UsageMeter } from './pipeline/usage';

const ROOT = join(__dirname, '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const BURST = Number(process.env['BENCH_BURST'] ?? 20_000);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 50);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
const DRAIN_MS = 20_000;
const VERBOSE = process.env['BENCH_VERBOSE'] === '1';

async function drain(tally: Tally, sent: number): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  while (tally.unique < sent && Date.now() < deadline) await sleep(20);
  await sleep(300); // late duplicates still count
}

async function paced(p: Pipeline, rate: number, usage: UsageMeter): Promise<Row> {
  const runIds = Array.from({ length: RUNS }, (_, i) => `bench-${rate}-${i}-${randomUUID().slice(0, 6)}`);
  const tally = new Tally();
  await p.prepare(runIds, tally);
  const before = await usage.sample(p.pids);
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
  const after = await usage.sample(p.pids);
  note(`paced ${rate}/s`, p, p.finish());
  return row(`paced ${rate}/s`, p.name, tally, total, Math.max(1, tally.lastAt - start), emitMs, before, after);
}

async function burst(p: Pipeline, usage: UsageMeter): Promise<Row> {
  const runIds = Array.from({ length: RUNS }, (_, i) => `bench-max-${i}-${randomUUID().slice(0, 6)}`);
  const tally = new Tally();
  await p.prepare(runIds, tally);
  const before = await usage.sample(p.pids);
  const start = Date.now();
  const chunk = 1_000;
  for (let sent = 0; sent < BURST; sent += chunk) {
    const batch: string[] = [];
    for (let i = sent; i < Math.min(BURST, sent + chunk); i++) batch.push(runIds[i % RUNS]!);
    await p.emit(batch);
  }
  const emitMs = Date.now() - start;
  await drain(tally, BURST);
  const after = await usage.sample(p.pids);
  note(`max (burst ${BURST})`, p, p.finish());
  return row(`max (burst ${BURST})`, p.name, tally, BURST, Math.max(1, tally.lastAt - start), emitMs, before, after);
}

const notes: string[] = [];
function note(scenario: string, p: Pipeline, text: string | undefined): void {
  if (text) notes.push(`${scenario}, ${p.name}: ${text}`);
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const admin = new Redis(redis.port, '127.0.0.1');
  const usage = new UsageMeter(admin, VERBOSE);
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
    for (const rate of [500, 2_000]) for (const p of pipelines) rows.push(await paced(p, rate, usage));
    for (const p of pipelines) rows.push(await burst(p, usage));
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
