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

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const redis = await startRedis();
  const config = loadConfig({
    env: { REDIS_URL: redis.url, AB_KEY_PREFIX: `emit-${randomUUID().slice(0, 6)}`, ...EXTRA_ENV },
  });
  const publisher = await AgentPublisher.create({ config });
  admin = new Redis(redis.port, '127.0.0.1');
  const conn = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: null });
  const queue = new Queue('plain-events', { connection: conn, prefix: 'plain:{bull}' });
  await queue.waitUntilReady();
  const rows: ({ side: string; round: number } & Measure)[] = [];
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
    // Warm-up (JIT, connections) of both sides.
    const warm = await publisher.startRun({ userId: 'bench-user', agent: 'bench' });
    await measure(500, () => warm.thinking(TOKEN));
    await measure(500, plain);
    warm.close();
    for (let round = 0; round < ROUNDS; round++) {
      const run = await publisher.startRun({ userId: 'bench-user', agent: 'bench' });
      const order = round % 2 === 0 ? ['agent-sdk', 'queue.add'] : ['queue.add', 'agent-sdk'];
      for (const side of order.filter((s) => !args.only || s === args.only)) {
        const m = side === 'agent-sdk' ? await measure(COUNT, () => run.thinking(TOKEN)) : await measure(COUNT, plain);
        rows.push({ side, round, ...m });
      }
      run.close();
      await queue.drain();
    }
  } finally {
    await publisher.close();
    await queue.close();
    conn.disconnect();
    admin.disconnect();
    await destroyAllRedis();
  }
  const of = (side: string, k: keyof Measure): number[] => rows.filter((r) => r.side === side).map((r) => r[k]);
  const ratios = [...Array(ROUNDS).keys()].map((round) => {
    const get = (side: string): number => rows.find((r) => r.side === side && r.round === round)?.cpuUs ?? NaN;
    return get('agent-sdk') / get('queue.add');
  });
  const fmt = (xs: number[]): string =>
    xs.length === 0 ? '-' : `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  console.log(`emit cost: ${COUNT} awaited emits × ${ROUNDS} rounds, one run, ${JSON.stringify(EXTRA_ENV)}`);
  console.log(
    `  agent-sdk run.thinking(): CPU µs/emit ${fmt(of('agent-sdk', 'cpuUs'))}, wall µs ${fmt(of('agent-sdk', 'wallUs'))}, Redis cmds ${fmt(of('agent-sdk', 'redisCmds'))}`,
  );
  console.log(
    `  plain queue.add():        CPU µs/emit ${fmt(of('queue.add', 'cpuUs'))}, wall µs ${fmt(of('queue.add', 'wallUs'))}, Redis cmds ${fmt(of('queue.add', 'redisCmds'))}`,
  );
  console.log(
    `  ratio agent-sdk / queue.add CPU: median ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
  );
  console.log(JSON.stringify({ count: COUNT, rounds: ROUNDS, env: EXTRA_ENV, rows, cpuRatioMedian: median(ratios) }));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
