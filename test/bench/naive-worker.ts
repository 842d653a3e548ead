/**
 * The NAIVE glue's worker, for the pipeline benchmark only: a BullMQ worker that calls
 * `io.to(room).emit` through the Socket.IO Redis adapter for every job, as it comes. No commit, no
 * ordering, no idempotency. Env: REDIS_URL, NAIVE_KEY, NAIVE_QUEUE, NAIVE_PREFIX, NAIVE_CONCURRENCY.
 */
import { createAdapter } from '@socket.io/redis-adapter';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const url = new URL(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const conn = (): Redis => new Redis({ host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null });
const pub = conn();
const sub = conn();
const io = new Server();
io.adapter(createAdapter(pub, sub, { key: process.env['NAIVE_KEY'] ?? 'naive:socket.io' }));
const worker = new Worker(
  process.env['NAIVE_QUEUE'] ?? 'naive-events',
  (job) => {
    const event = job.data as { runId: string };
    io.to(`run:${event.runId}`).emit('agent_event', event);
    return Promise.resolve();
  },
  {
    connection: conn(),
    prefix: process.env['NAIVE_PREFIX'] ?? 'naive:{bull}',
    concurrency: Number(process.env['NAIVE_CONCURRENCY'] ?? 16),
    removeOnComplete: { count: 1000 },
  },
);
void worker.waitUntilReady().then(() => console.log('naive worker ready'));
process.once('SIGTERM', () => {
  void worker.close().finally(() => {
    void io.close();
    pub.disconnect();
    sub.disconnect();
    process.exit(0);
  });
});
