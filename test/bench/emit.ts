/**
 * Producer emit cost: CPU µs (process.cpuUsage) and wall µs per awaited `run.thinking()` of the agent SDK
 * against a plain awaited BullMQ `queue.add` of the same envelope, in the same process on the same Redis,
 * alternating in rounds. Only the producer process is measured (Redis runs in its own process).
 *
 *   npm run bench:emit -- [--quick] [--count 5000] [--rounds 5] [--env KEY=VALUE ...]
 *   node --cpu-prof --cpu-prof-dir=prof --conditions=@agent-bridge/source --import tsx test/bench/emit.ts
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { loadConfig } from '@agent-bridge/config';
import type { EventEnvelope } from '@agent-bridge/protocol';
import { destroyAllRedis, startRedis } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    count: { type: 'string' },
    rounds: { type: 'string' },
    /** Measure one side only (for --cpu-prof). */
    only: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const COUNT = Number(args.count ?? (args.quick ? 1_000 : 5_000));
const ROUNDS = Number(args.rounds ?? (args.quick ? 2 : 5));
const EXTRA_ENV = Object.fromEntries(
  args.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
);
const TOKEN = 'Hello, ';

interface Measure {
  cpuUs: number;
  wallUs: number;
  redisCmds: number;
}

let admin: Redis;

async function totalCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/cmdstat_[^:]+:calls=(\d+)/g)) n += Number(m[1]);
  return n;
}

async function measure(n: number, fn: (i: number) => Promise<unknown>): Promise<Measure> {
  const calls0 = await totalCalls();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const wall = Number(process.hrtime.bigint() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  // Redis commands per emit (a Lua script's inner calls included; 1 = the INFO call of this sample).
  const redisCmds = (await totalCalls()) - calls0 - 1;
  return { cpuUs: (cpu.user + cpu.system) / n, wallUs: wall / n, redisCmds: redisCmds / n };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** The sides measured: one awaited emit each. */
const SIDES = ['agent-sdk', 'agent-sdk coalescing', 'queue.add'] as const;
type SideName = (typeof SIDES)[number];

async function main(): Promise<void> {
  const redis = await startRedis();
  const env = { REDIS_URL: redis.url, AB_KEY_PREFIX: `emit-${randomUUID().slice(0, 6)}`, ...EXTRA_ENV };
  // Per event (coalescing off: every emit is enqueued), and as configured (coalescing on by default).
  const perEvent = await AgentPublisher.create({
    config: loadConfig({ env: { ...env, AB_THINKING_COALESCE_MS: '0' } }),
  });
  const coalescing = await AgentPublisher.create({ config: loadConfig({ env }) });
  admin = new Redis(redis.port, '127.0.0.1');
  const conn = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: null });
  const queue = new Queue('plain-events', { connection: conn, prefix: 'plain:{bull}' });
  await queue.waitUntilReady();
  const rows: ({ side: SideName; round: number } & Measure)[] = [];
  try {
    let seq = 0;
    const runId = `run-${randomUUID()}`;
    const plain = (): Promise<unknown> => {
      const event: EventEnvelope = {
        id: `evt-${randomUUID()}`,
        runId,
        seq: ++seq,
        epoch: 0,
        type: 'agent_thinking',
        ts: Date.now(),
        payload: { delta: TOKEN },
      };
      return queue.add('event', event, { removeOnComplete: { count: 1_000 } });
    };
    const start = (p: AgentPublisher) => p.startRun({ userId: 'bench-user', agent: 'bench' });
    // Warm-up (JIT, connections) of every side.
    for (const p of [perEvent, coalescing]) {
      const warm = await start(p);
      await measure(500, () => warm.thinking(TOKEN));
      await warm.complete();
    }
    await measure(500, plain);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [...SIDES] : [...SIDES].reverse();
      for (const side of order.filter((s) => !args.only || s === args.only)) {
        let m: Measure;
        if (side === 'queue.add') m = await measure(COUNT, plain);
        else {
          const run = await start(side === 'agent-sdk' ? perEvent : coalescing);
          // The coalescing side includes sending its last window: measured until everything is on the queue.
          m = await measure(COUNT, (i) =>
            i === COUNT - 1 ? run.thinking(TOKEN).then(() => run.flush()) : run.thinking(TOKEN),
          );
          await run.complete();
        }
        rows.push({ side, round, ...m });
      }
      await queue.drain();
    }
  } finally {
    await perEvent.close();
    await coalescing.close();
    await queue.close();
    conn.disconnect();
    admin.disconnect();
    await destroyAllRedis();
  }
  const of = (side: SideName, k: keyof Measure): number[] => rows.filter((r) => r.side === side).map((r) => r[k]);
  const ratios = (side: SideName): number[] =>
    [...Array(ROUNDS).keys()]
      .map((round) => {
        const get = (s: SideName): number => rows.find((r) => r.side === s && r.round === round)?.cpuUs ?? NaN;
        return get(side) / get('queue.add');
      })
      .filter(Number.isFinite);
  const fmt = (xs: number[]): string =>
    xs.length === 0 ? '-' : `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  console.log(
    `emit cost: ${COUNT} awaited emits per side × ${ROUNDS} rounds, a ${TOKEN.length}-char token, ${JSON.stringify(EXTRA_ENV)}`,
  );
  console.log('side                   CPU µs/emit          wall µs/emit         Redis cmds/emit   CPU ÷ queue.add');
  for (const side of SIDES) {
    console.log(
      `${side.padEnd(22)} ${fmt(of(side, 'cpuUs')).padEnd(20)} ${fmt(of(side, 'wallUs')).padEnd(20)} ${fmt(of(side, 'redisCmds')).padEnd(17)} ${side === 'queue.add' ? '' : fmt(ratios(side))}`,
    );
  }
  const summary = Object.fromEntries(
    SIDES.map((side) => [
      side,
      {
        cpuUs: median(of(side, 'cpuUs')),
        wallUs: median(of(side, 'wallUs')),
        cpuRatio: side === 'queue.add' ? 1 : median(ratios(side)),
      },
    ]),
  );
  console.log(JSON.stringify({ count: COUNT, rounds: ROUNDS, env: EXTRA_ENV, summary, rows }));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
