/**
 * The NAIVE glue's gateway, for the pipeline benchmark only: a Socket.IO server with the Redis adapter
 * whose `subscribe { runId }` just joins the run's room. No auth, no history, no ordering, no replay.
 * Env: REDIS_URL, NAIVE_KEY (adapter channel prefix), PORT (0 = any).
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const url = new URL(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const pub = new Redis({ host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null });
const sub = pub.duplicate();
const http = createServer();
const io = new Server(http, { transports: ['websocket'] });
io.adapter(createAdapter(pub, sub, { key: process.env['NAIVE_KEY'] ?? 'naive:socket.io' }));
io.on('connection', (socket) => {
  socket.on('subscribe', (req: { runId: string }, ack: (res: unknown) => void) => {
    void socket.join(`run:${req.runId}`);
    ack({ ok: true });
  });
});
http.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  console.log(`naive gateway ready on port ${(http.address() as AddressInfo).port}`);
});
process.once('SIGTERM', () => {
  void io.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});
