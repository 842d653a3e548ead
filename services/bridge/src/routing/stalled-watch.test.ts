import { randomUUID } from 'node:crypto';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { type RedisServer, destroyAllRedis, sleep, startRedis, waitFor } from '@agent-bridge/testing';
import { silentLogger } from '@agent-bridge/telemetry';
import { Queue, Worker } from 'bullmq';
import { loadConfig } from '@agent-bridge/config';
import { StalledWatch } from './stalled-watch';

afterAll(destroyAllRedis);

async function calls(redis: RedisConnection, command: string): Promise<number> {
  const m = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(await redis.info('commandstats'));
  return Number(m?.[1] ?? 0);
}

describe('StalledWatch', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });

  it('guarantee 4.4: idle, it runs no stalled-job check (one LLEN per interval); a job whose holder stopped renewing is taken again', async () => {
    const config = loadConfig({ env: { REDIS_URL: server.url } });
    const conn = createRedis(config, 'command');
    const workerConn = createRedis(config, 'worker');
    const name = `stall-${randomUUID()}`;
    const queue = new Queue(name, { connection: conn });
    const taken: string[] = [];
    const worker = new Worker(
      name,
      (job) => {
        taken.push(job.id!);
        return Promise.resolve();
      },
      { connection: workerConn, skipStalledCheck: true, stalledInterval: 100, lockDuration: 500, autorun: false },
    );
    // The "dead" holder: takes a job by hand and never renews its lock (nor completes it).
    const holderConn = createRedis(config, 'worker');
    const holder = new Worker(name, null, { connection: holderConn, lockDuration: 500 });
    const watch = new StalledWatch({ worker, connection: conn, intervalMs: 100, logger: silentLogger() });
    try {
      await worker.waitUntilReady();
      watch.start();
      await sleep(300);
      const before = { llen: await calls(conn, 'llen'), smembers: await calls(conn, 'smembers') };
      await sleep(1_000);
      const idle = {
        llen: (await calls(conn, 'llen')) - before.llen,
        smembers: (await calls(conn, 'smembers')) - before.smembers,
      };
      // About ten looks in a second, none of which ran BullMQ's check script (its SMEMBERS of the stalled set).
      expect(idle.llen).toBeGreaterThanOrEqual(3);
      expect(idle.smembers).toBe(0);

      await queue.add('x', { n: 1 }, { jobId: 'held' });
      const job = await holder.getNextJob(randomUUID());
      expect(job.id).toBe('held');
      const stalled: string[] = [];
      worker.on('stalled', (id) => stalled.push(id));
      void worker.run();
      await waitFor('the held job taken again', () => taken.includes('held'), { timeoutMs: 30_000 });
      expect(stalled).toEqual(['held']);
    } finally {
      await watch.close();
      await Promise.allSettled([worker.close(), holder.close(), queue.close()]);
      await Promise.all([closeRedis(conn), closeRedis(workerConn), closeRedis(holderConn)]);
    }
  }, 60_000);
});
