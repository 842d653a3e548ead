/**
 * Leader failover after SIGKILL: 2 bridges + 1 gateway with default settings, ACTIVE. The leader (named by
 * the leader record) is SIGKILLed; measured from the SIGKILL are the time until another bridge holds the
 * leader record (elected) and until it has published its first integration result (its health checks ran
 * and were published: the cluster is led again). The dead bridge is started again for the next trial.
 */
import { randomUUID } from 'node:crypto';
import { keyLayout } from '@agent-bridge/protocol';
import { type RedisServer, type ServiceProcess, killAllServices, sleep, waitFor } from '@agent-bridge/testing';
import type { Redis } from 'ioredis';
import { publishedState, startService, stats } from './common';

/** Prints median and max of election and first publish over `trials` SIGKILLs of the leader. */
export async function leaderFailover(data: RedisServer, redis: Redis, trials: number): Promise<void> {
  const prefix = `bench-${randomUUID()}`;
  const keys = keyLayout(prefix);
  const common = { REDIS_URL: data.url, AB_KEY_PREFIX: prefix };
  const bridges = new Map<string, ServiceProcess>();
  for (const p of await Promise.all([startService('bridge', 'lb0', common), startService('bridge', 'lb1', common)])) {
    bridges.set(p.name, p);
  }
  await startService('gateway', 'lgw', common);
  const leaderId = async (): Promise<string | null> => (await redis.hget(keys.leader, 'id')) ?? null;
  const resultBy = async (): Promise<string | null> =>
    (JSON.parse((await redis.get(keys.integrationResult)) ?? 'null') as { leaderId?: string } | null)?.leaderId ?? null;
  const elected: number[] = [];
  const published: number[] = [];
  let spawned = 2;
  for (let t = 0; t < trials; t++) {
    await waitFor('ACTIVE under a leader', async () => (await publishedState(redis, prefix))?.state === 'ACTIVE', {
      timeoutMs: 120_000,
      intervalMs: 50,
    });
    await sleep(1_000 + Math.random() * 2_000);
    const old = await waitFor('a leader', leaderId, { timeoutMs: 60_000, intervalMs: 20 });
    const victim = bridges.get(old);
    if (!victim) throw new Error(`leader ${old} is not one of this bench's bridges`);
    await victim.kill();
    const t0 = Date.now();
    bridges.delete(old);
    let electedAt = 0;
    await waitFor(
      'a new leader publishing',
      async () => {
        const [id, by] = await Promise.all([leaderId(), resultBy()]);
        if (!electedAt && id && id !== old) electedAt = Date.now();
        return by !== null && by !== old && by === id;
      },
      { timeoutMs: 60_000, intervalMs: 5 },
    );
    published.push(Date.now() - t0);
    elected.push((electedAt || Date.now()) - t0);
    process.stderr.write('.');
    const next = await startService('bridge', `lb${spawned++}`, common);
    bridges.set(next.name, next);
  }
  await killAllServices();
  process.stderr.write('\n');
  console.log('leader failover after SIGKILL of the leader (2 bridges + 1 gateway), default settings:');
  console.log(`  new leader elected:                   ${stats(elected)}`);
  console.log(`  new leader published its result:      ${stats(published)}`);
}
