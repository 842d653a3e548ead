/**
 * Idle Redis load: 2 bridges + 1 gateway with default settings, ACTIVE and idle (no runs, no sockets);
 * after a settling pause, the commands Redis executed over a window (INFO commandstats before and after,
 * commands run inside scripts included; the two INFO calls of the measurement are left out).
 */
import { randomUUID } from 'node:crypto';
import { type RedisServer, killAllServices, sleep, waitFor } from '@agent-bridge/testing';
import type { Redis } from 'ioredis';
import { publishedState, startService } from './common';

async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  return calls;
}

/** Prints the idle command rate over `seconds` (after `settleMs` of ACTIVE). */
export async function idleLoad(data: RedisServer, redis: Redis, seconds: number, settleMs = 15_000): Promise<void> {
  const prefix = `bench-${randomUUID()}`;
  const common = { REDIS_URL: data.url, AB_KEY_PREFIX: prefix };
  await Promise.all([
    startService('bridge', 'ib1', common),
    startService('bridge', 'ib2', common),
    startService('gateway', 'igw', common),
  ]);
  await waitFor('ACTIVE', async () => (await publishedState(redis, prefix))?.state === 'ACTIVE', {
    timeoutMs: 120_000,
    intervalMs: 100,
  });
  await sleep(settleMs);
  const before = await commandCalls(redis);
  await sleep(seconds * 1_000);
  const after = await commandCalls(redis);
  await killAllServices();
  const delta = new Map<string, number>();
  for (const [cmd, n] of after) delta.set(cmd, n - (before.get(cmd) ?? 0) - (cmd === 'info' ? 1 : 0));
  const total = [...delta.values()].reduce((a, b) => a + b, 0);
  const top = [...delta.entries()]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([cmd, n]) => `${cmd} ${(n / seconds).toFixed(2)}`);
  console.log(
    `idle Redis load, 2 bridges + 1 gateway ACTIVE, default settings, ${seconds} s window: ` +
      `${(total / seconds).toFixed(1)} commands/s (commands inside scripts counted)`,
  );
  console.log(`  per command (calls/s): ${top.join(', ')}`);
}
