/**
 * Micro-benchmark of event routing alone (agent SDK → BullMQ → EventRouter commit + publish), without
 * gateways. Starts its own redis-server on a free port. Prints figures; asserts nothing.
 *
 *   node --conditions=@agent-bridge/source --import tsx services/bridge/src/routing/routing.bench.ts [runs] [events] [routers]
 */
import { randomUUID } from 'node:crypto';
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { loadConfig } from '@agent-bridge/config';
import { type EventEnvelope, keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { silentLogger } from '@agent-bridge/telemetry';
import { destroyAllRedis, startRedis } from '@agent-bridge/testing';
import { decode } from 'notepack.io';
import { EventRouter } from './event-router';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const [runsArg, eventsArg, routersArg] = process.argv.slice(2);
  const runs = Number(runsArg ?? 500);
  const events = Number(eventsArg ?? 40);
  const routerCount = Number(routersArg ?? 2);
  const server = await startRedis();
  const id = randomUUID();
  const config = loadConfig({
    // Classic Pub/Sub: one PSUBSCRIBE sees every run's room (sharded Pub/Sub has no patterns).
    env: {
      REDIS_URL: server.url,
      AB_KEY_PREFIX: `bench-${id}`,
      AB_EVENTS_QUEUE: `ev-${id}`,
      LOG_LEVEL: 'silent',
      AB_PUBSUB_MODE: 'classic',
    },
  });
  const keys = keyLayout(config.keyPrefix);
  const conns = Array.from({ length: routerCount }, () => ({
    command: createRedis(config, 'command'),
    worker: createRedis(config, 'worker'),
  }));
  const routers = conns.map(
    (c) => new EventRouter({ config, connection: c.command, workerConnection: c.worker, logger: silentLogger() }),
  );
  const sub = createRedis(config, 'subscriber');
  const latencies: number[] = [];
  const seen = new Map<string, Set<number>>();
  let outOfOrder = 0;
  const last = new Map<string, number>();
  let received = 0;
  let done: () => void = () => undefined;
  const allReceived = new Promise<void>((resolve) => (done = resolve));
  sub.on('pmessageBuffer', (_p: string, _c: Buffer, message: Buffer) => {
    const [, packet] = decode(message) as [string, { data: [string, EventEnvelope] }];
    const e = packet.data[1];
    const s = seen.get(e.runId) ?? new Set<number>();
    if (s.has(e.seq)) return;
    s.add(e.seq);
    seen.set(e.runId, s);
    if (e.seq < (last.get(e.runId) ?? 0)) outOfOrder++;
    last.set(e.runId, Math.max(e.seq, last.get(e.runId) ?? 0));
    latencies.push(Date.now() - e.ts);
    if (++received === runs * events) done();
  });
  await sub.psubscribe(`${keys.socketIoKey}#/#*`);
  await Promise.all(routers.map((r) => r.start()));
  const publisher = await AgentPublisher.create({ config });
  const handles = await Promise.all(
    Array.from({ length: runs }, (_, i) => publisher.startRun({ userId: `u${i % 50}`, agent: 'bench' })),
  );
  const t0 = Date.now();
  await Promise.all(
    handles.flatMap((h) => Array.from({ length: events }, (_, s) => h.thinking(`token ${s} of ${h.runId}`))),
  );
  const enqueuedMs = Date.now() - t0;
  await allReceived;
  const totalMs = Date.now() - t0;
  latencies.sort((a, b) => a - b);
  const stats = await conns[0]?.command.info('commandstats');
  const cpu = await conns[0]?.command.info('cpu');
  const evalsha = /cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(stats ?? '');
  const cpuField = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(cpu ?? '')?.[1] ?? 0);
  const redisCpu = cpuField('used_cpu_user') + cpuField('used_cpu_sys');
  const total = runs * events;
  const status = routers.map((r) => r.getStatus());
  process.stdout.write(
    [
      `routing micro-benchmark: ${runs} runs × ${events} events = ${total}, ${routerCount} router(s) × concurrency ${config.events.workerConcurrency}`,
      `  enqueue (SDK, batched addBulk): ${enqueuedMs} ms → ${Math.round((total / enqueuedMs) * 1000)} events/s`,
      `  committed + published:           ${totalMs} ms → ${Math.round((total / totalMs) * 1000)} events/s`,
      `  emit→publish latency ms: p50 ${pct(latencies, 50)}  p99 ${pct(latencies, 99)}  max ${latencies.at(-1) ?? 0} (burst: every event emitted at once)`,
      `  redis: ${evalsha ? `${evalsha[1] ?? '?'} EVALSHA at ${evalsha[3] ?? '?'} µs each, ` : ''}redis-server CPU ${redisCpu.toFixed(1)} s (EVALSHA counts BullMQ's scripts too)`,
      `  live publishes out of seq order (clients reorder): ${outOfOrder}; buffered early arrivals: ${status.reduce((a, s) => a + s.buffered, 0)}`,
      '',
    ].join('\n'),
  );
  await publisher.close();
  await Promise.all(routers.map((r) => r.close()));
  await Promise.all([...conns.flatMap((c) => [closeRedis(c.command), closeRedis(c.worker)]), closeRedis(sub)]);
  await destroyAllRedis();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
