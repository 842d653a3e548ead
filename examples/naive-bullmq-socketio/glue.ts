// The naive glue between the agent's queue and the browsers: a BullMQ worker that emits each job into a
// Socket.IO room. What it lacks is marked MISSING (agent-bridge's bridge and gateway provide each).
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
// MISSING: authentication: anyone who knows a run id watches it.
// MISSING: more than one server: a second instance needs a Redis adapter, and every server is a single point
// of failure for the sockets it holds.
const io = new Server(Number(process.env.PORT ?? 8080), { cors: { origin: '*' } });

io.on('connection', (socket) => {
  // MISSING: replay: a watcher that joins late, or reconnects after a drop, never gets what it missed.
  socket.on('watch', (runId: string) => void socket.join(runId));
});

// MISSING: order: with concurrency > 1 the worker runs jobs of one run side by side and nothing keeps them in
// order on the way to the room; with concurrency 1 the one worker is the bottleneck of every run.
// MISSING: exactly-once: a stalled job is processed again and its event is emitted twice; Socket.IO emit is
// at-most-once, so a socket that drops loses events silently.
// MISSING: history: nothing is stored, so a page reload shows an empty run.
const worker = new Worker<{ runId: string }>(
  'agent-events',
  (job) => {
    io.to(job.data.runId).emit('event', job.data);
    return Promise.resolve();
  },
  { connection, concurrency: 8 },
);

process.once('SIGINT', () => void Promise.all([worker.close(), io.close()]).then(() => connection.quit()));
