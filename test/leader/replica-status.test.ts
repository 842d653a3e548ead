import { randomUUID } from 'node:crypto';
import { AgentPublisher, type RunHandle } from '@agent-bridge/agent-sdk';
import { loadConfig } from '@agent-bridge/config';
import { keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { type RedisServer, destroyAllRedis, killAllServices, sleep, startRedis, waitFor } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { startBridges } from './harness';

jest.setTimeout(240_000);

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await killAllServices();
  await destroyAllRedis();
});

describe('guarantee 9.3 — /status tells the present', () => {
  it('a replica frozen while holding jobs loses their locks ("Missing lock"); once it processes again /status shows no stale lastError', async () => {
    const id = randomUUID();
    const env = {
      REDIS_URL: redis.url,
      AB_KEY_PREFIX: `t-${id}`,
      AB_EVENTS_QUEUE: `ev-${id}`,
      AB_WORKER_CONCURRENCY: '16',
      AB_WORKER_LOCK_DURATION_MS: '1000',
      AB_WORKER_STALLED_INTERVAL_MS: '500',
      // A loaded machine: startup must not fail on the harness's short command timeout.
      REDIS_COMMAND_TIMEOUT_MS: '5000',
    };
    const [b1, b2] = await startBridges(2, env);
    if (!b1 || !b2) throw new Error('bridges did not start');
    const config = loadConfig({ env });
    const keys = keyLayout(config.keyPrefix);
    const conn = createRedis(config, 'command');
    const queue = new Queue(config.queues.events, { connection: conn, prefix: keys.bullPrefix });
    const publisher = await AgentPublisher.create({ config });
    let producing = true;
    const runs: RunHandle[] = await Promise.all(
      Array.from({ length: 20 }, (_, i) => publisher.startRun({ userId: 'u', agent: 'a', runId: `r-${id}-${i}` })),
    );
    const load = Promise.all(
      runs.map(async (run) => {
        for (let s = 0; producing && s < 5_000; s++) {
          await run.thinking(`token ${s}`);
          await sleep(5);
        }
      }),
    );
    try {
      // Freeze b1 while it holds jobs; b2 moves them back (their locks expire) and commits them.
      await waitFor('b1 holding jobs', async () => (await queue.getActive()).some((j) => j.processedBy === 'b1'), {
        intervalMs: 2,
        timeoutMs: 60_000,
      });
      b1.proc.signal('SIGSTOP');
      await sleep(4_000);
      b1.proc.signal('SIGCONT');
      // On resuming, b1 cannot finish the jobs it held: their locks are gone.
      await waitFor('b1 to hit "Missing lock"', () => /Missing lock/.test(b1.proc.logs), { timeoutMs: 60_000 });
      const before = (await b1.status()).router.processed;
      // It goes on processing, and its status no longer reports the error it recovered from.
      const status = await waitFor(
        'b1 processing with no stale lastError',
        async () => {
          const s = await b1.status();
          return s.router.processed > before && s.router.lastError === null ? s : null;
        },
        { timeoutMs: 60_000 },
      );
      expect(status.router.lastErrorAt).toBeNull();
      expect(status.router.state).toBe('running');
    } finally {
      producing = false;
      await load.catch(() => undefined);
      await publisher.close();
      await queue.close();
      await closeRedis(conn);
    }
  });
});
