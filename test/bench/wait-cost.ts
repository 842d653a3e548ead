/**
 * Cost of REDIS_WAIT_REPLICAS=1 (decision 0005): wall time per awaited emit (`run.thinking()`) of the agent
 * SDK against a master with one replica, with WAIT (acknowledged once the replica holds the job) and
 * without, alternating in rounds; and the commit script's share (INFO replication) is inside the bridge,
 * not measured here.
 *
 *   node --conditions=@agent-bridge/source --import tsx test/bench/wait-cost.ts [--count 2000] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { loadConfig } from '@agent-bridge/config';
import { destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';

const { values: args } = parseArgs({ options: { count: { type: 'string' }, rounds: { type: 'string' } } });
const COUNT = Number(args.count ?? 2_000);
const ROUNDS = Number(args.rounds ?? 3);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const master = await startRedis({ appendOnly: true });
  const replica = await startRedis({ appendOnly: true, args: ['--replicaof', '127.0.0.1', String(master.port)] });
  await waitFor('replica in sync', async () => /master_link_status:up/.test(await replica.cli('info', 'replication')), {
    timeoutMs: 20_000,
  });
  const samples: Record<string, number[]> = { 'WAIT 1': [], 'no WAIT': [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [label, replicas] of [
        ['no WAIT', '0'],
        ['WAIT 1', '1'],
      ] as const) {
        const config = loadConfig({
          env: {
            REDIS_URL: master.url,
            AB_KEY_PREFIX: `wait-${round}-${replicas}`,
            REDIS_WAIT_REPLICAS: replicas,
            // Coalescing would resolve each `thinking()` at once and enqueue the window later: the figure
            // would be 1 µs, with or without WAIT. Off, every awaited emit is one enqueue (and its WAIT).
            AB_THINKING_COALESCE_MS: '0',
          },
        });
        const publisher = await AgentPublisher.create({ config });
        const run = await publisher.startRun({ userId: 'u1', agent: 'bench' });
        for (let i = 0; i < COUNT; i++) {
          const t0 = process.hrtime.bigint();
          await run.thinking('token ');
          samples[label]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        await publisher.close();
      }
    }
  } finally {
    await destroyAllRedis();
  }
  for (const [label, s] of Object.entries(samples)) {
    s.sort((a, b) => a - b);
    console.log(
      `${label}: ${s.length} awaited emits, p50 ${pct(s, 50).toFixed(3)} ms, p99 ${pct(s, 99).toFixed(3)} ms, max ${s.at(-1)!.toFixed(3)} ms`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
