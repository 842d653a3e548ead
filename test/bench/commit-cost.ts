/**
 * Commit script cost on the server: redis-server CPU per call of `commit-events-3.lua` with one event per
 * call (the sparse token stream, where per-call work weighs most), for this checkout's script and any other
 * version of it, side by side in the same run on the same redis-server, in alternating blocks (the order
 * flips every round). Per block: `cmdstat_evalsha` µs per call (the script's whole run, inner commands
 * included), redis-server CPU µs per call (`INFO cpu`), and Redis commands per call (inner ones included).
 *
 *   npm run bench:commit-cost -- [--scripts before=<path to a commit-events-3.lua>,...] [--rounds 6]
 *                                [--runs 100] [--events 50] [--out file.json]
 *
 * The arguments are this checkout's (`packEvent`, `encodeCommitEvents`): compare script versions that take
 * the same arguments. Asserts nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type EventEnvelope, keyLayout } from '@agent-bridge/protocol';
import { RunStore, encodeCommitEvents, loadScript, packEvent, runScript } from '@agent-bridge/redis';
import { destroyAllRedis, startRedis } from '@agent-bridge/testing';
import { Redis } from 'ioredis';
import { commandStats, redisCpuUs } from './agents/cpu';

const THIS_SCRIPT = join(__dirname, '..', '..', 'shared', 'redis', 'lua', 'commit-events-3.lua');
const { values: args } = parseArgs({
  options: {
    scripts: { type: 'string' },
    rounds: { type: 'string', default: '6' },
    runs: { type: 'string', default: '100' },
    events: { type: 'string', default: '50' },
    out: { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds);
const RUNS = Number(args.runs);
const EVENTS = Number(args.events);
const VARIANTS = [`this=${THIS_SCRIPT}`, ...(args.scripts ? args.scripts.split(',') : [])].map((v) => {
  const [label, path] = v.split('=');
  return { label: label!, script: loadScript(resolve(path!)) };
});
const LIMITS = { historyMaxLen: 1_000, historyTtlMs: 600_000, reorderBufferMax: 100 };

interface Block {
  variant: string;
  round: number;
  evalshaUsPerCall: number;
  redisCpuUsPerCall: number;
  commandsPerCall: number;
}

function event(runId: string, seq: number): EventEnvelope {
  const payload = { delta: 'token ' };
  return { id: `${runId}-${seq}`, runId, seq, epoch: 0, type: 'agent_thinking', ts: Date.now(), payload };
}

async function block(admin: Redis, conn: Redis, variant: (typeof VARIANTS)[number], round: number): Promise<Block> {
  const prefix = `cc-${variant.label}-${round}`;
  const keys = keyLayout(prefix);
  const room = { channel: `${prefix}-room`, prefix: Buffer.from([0x93]), suffix: Buffer.from([0xc0]) };
  const store = new RunStore({ connection: conn, keys, limits: LIMITS, roomMessage: () => room });
  const runIds = Array.from({ length: RUNS }, (_, i) => `${prefix}-run-${i}`);
  for (const runId of runIds) {
    await store.register({ runId, owner: 'u1', agent: 'bench', status: 'running' });
  }
  const call = (runId: string, seq: number): Promise<unknown> =>
    runScript(
      conn,
      variant.script,
      [keys.runMeta(runId), keys.runHistory(runId), keys.runPending(runId)],
      [
        'commit',
        runId,
        LIMITS.historyMaxLen,
        LIMITS.historyTtlMs,
        LIMITS.reorderBufferMax,
        room.channel,
        room.prefix,
        room.suffix,
        encodeCommitEvents([packEvent(event(runId, seq))]),
      ],
    );
  // Every run's first event gives its epoch (a once-per-run cost): outside the measurement.
  await Promise.all(runIds.map((runId) => call(runId, 1)));
  await admin.config('RESETSTAT');
  const cpu0 = await redisCpuUs(admin);
  // Interleaved over the runs, 20 calls in flight: the shape of a bridge committing many runs' tokens.
  const calls = runIds.length * (EVENTS - 1);
  for (let seq = 2; seq <= EVENTS; seq++) {
    for (let i = 0; i < runIds.length; i += 20) {
      await Promise.all(runIds.slice(i, i + 20).map((runId) => call(runId, seq)));
    }
  }
  const cpu1 = await redisCpuUs(admin);
  const stats = await commandStats(admin);
  const evalsha = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await admin.info('commandstats'));
  // Not the calls' work: our RESETSTAT and the two INFO cpu reads (an INFO run by a script stays counted).
  const ours = 1 + 2;
  const commands = [...stats.values()].reduce((a, b) => a + b, 0) - ours;
  return {
    variant: variant.label,
    round,
    evalshaUsPerCall: Number((Number(evalsha?.[2]) / Number(evalsha?.[1])).toFixed(2)),
    redisCpuUsPerCall: Number(((cpu1 - cpu0) / calls).toFixed(1)),
    commandsPerCall: Number((commands / calls).toFixed(2)),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return Number((s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2).toFixed(3));
}

async function main(): Promise<void> {
  const server = await startRedis();
  const admin = new Redis({ port: server.port });
  const conn = new Redis({ port: server.port });
  const blocks: Block[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) {
        const b = await block(admin, conn, v, round);
        blocks.push(b);
        console.log(JSON.stringify(b));
      }
    }
  } finally {
    admin.disconnect();
    conn.disconnect();
    await destroyAllRedis();
  }
  console.log(
    `\ncommit-events-3.lua, 1 event per call, ${RUNS} runs × ${EVENTS - 1} calls, ${ROUNDS} rounds: median [min–max]`,
  );
  const fields = ['evalshaUsPerCall', 'redisCpuUsPerCall', 'commandsPerCall'] as const;
  console.log(`variant | ${fields.join(' | ')}`);
  const summary = VARIANTS.map((v) => {
    const mine = blocks.filter((b) => b.variant === v.label);
    const cells = fields.map((f) => {
      const xs = mine.map((b) => b[f]);
      return { field: f, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
    });
    console.log(`${v.label} | ${cells.map((c) => `${c.median} [${c.min}–${c.max}]`).join(' | ')}`);
    return { variant: v.label, cells };
  });
  // Per round, this checkout's figure ÷ each other variant's: the same-run ratio with its spread.
  const ratios = VARIANTS.slice(1).map((v) => {
    const per = (f: (typeof fields)[number]): number[] =>
      Array.from({ length: ROUNDS }, (_, r) => {
        const mine = blocks.find((b) => b.variant === 'this' && b.round === r + 1)!;
        const other = blocks.find((b) => b.variant === v.label && b.round === r + 1)!;
        return Number((mine[f] / other[f]).toFixed(3));
      });
    const evalsha = per('evalshaUsPerCall');
    const cpu = per('redisCpuUsPerCall');
    console.log(
      `this ÷ ${v.label}: evalsha µs ${median(evalsha)} [${Math.min(...evalsha)}–${Math.max(...evalsha)}], ` +
        `redis CPU ${median(cpu)} [${Math.min(...cpu)}–${Math.max(...cpu)}]`,
    );
    return { against: v.label, evalsha, cpu };
  });
  if (args.out) {
    mkdirSync(dirname(resolve(args.out)), { recursive: true });
    writeFileSync(
      resolve(args.out),
      JSON.stringify({ meta: { runs: RUNS, events: EVENTS, rounds: ROUNDS }, blocks, summary, ratios }, null, 2),
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
