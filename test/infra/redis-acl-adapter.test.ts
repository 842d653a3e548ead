// infra/redis/users.acl: the gateway user runs the Socket.IO Redis adapter, classic and sharded, and the
// bridge user publishes to its rooms.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@agent-bridge/testing';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Emitter } from '@socket.io/redis-emitter';
import { Server } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import { keys, useAclRedis } from './acl-harness';

const h = useAclRedis();

type ClientSocket = ReturnType<typeof ioClient>;
type RedisConnection = ReturnType<typeof h.connect>;

/**
 * Two Socket.IO servers whose adapters (`adapterOf`, connections of the gateway user) join every socket to
 * `room`, and one connected client each; every `agent_event` a client gets is recorded as `<url> <event>`.
 * Servers and sockets go into the caller's lists as they open, so its `finally` closes them.
 */
async function twoServersInRoom(
  room: string,
  servers: Server[],
  sockets: ClientSocket[],
  adapterOf: (pub: RedisConnection, sub: RedisConnection) => NonNullable<Parameters<Server['adapter']>[0]>,
): Promise<{ urls: string[]; received: string[] }> {
  const urls: string[] = [];
  for (let i = 0; i < 2; i++) {
    const http = createServer();
    const io = new Server(http);
    const pub = h.connect('gateway', 'worker');
    const sub = h.connect('gateway', 'worker');
    // A refused command surfaces as the test's failure, not as an unhandled 'error' event.
    pub.on('error', () => undefined);
    sub.on('error', () => undefined);
    io.adapter(adapterOf(pub, sub));
    io.on('connection', (s) => void s.join(room));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    servers.push(io);
    urls.push(`http://127.0.0.1:${(http.address() as AddressInfo).port}`);
  }
  const received: string[] = [];
  for (const url of urls) {
    const s = ioClient(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    s.on('agent_event', (e: string) => received.push(`${url} ${e}`));
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.on('connect', () => resolve());
      s.on('connect_error', reject);
    });
  }
  return { urls, received };
}

describe('gateway user runs the Socket.IO Redis adapter', () => {
  // The adapter PSUBSCRIBEs `<key>#/#*` and Redis matches ACL channel patterns against a PSUBSCRIBE
  // pattern literally: `&ab:*` refuses it, and the gateway died at startup.
  test('two adapters under the gateway user: rooms get the bridge emitter’s events, cross-server requests work', async () => {
    const servers: Server[] = [];
    const sockets: ClientSocket[] = [];
    try {
      const { urls, received } = await twoServersInRoom('run:acl', servers, sockets, (pub, sub) =>
        createAdapter(pub, sub, { key: keys.socketIoKey }),
      );
      // Both servers see both sockets: request channel out, response channel back.
      await waitFor('both sockets in the room, seen across servers', async () => {
        return (await servers[0]!.in('run:acl').fetchSockets()).length === 2;
      });
      // The bridge publishes to the room the way it does for committed events.
      const emitter = new Emitter(h.connect('bridge'), { key: keys.socketIoKey });
      emitter.to('run:acl').emit('agent_event', 'e1');
      await waitFor('both clients receive the event', () => received.length === 2);
      expect(received.sort()).toEqual(urls.map((u) => `${u} e1`).sort());
    } finally {
      for (const s of sockets) s.disconnect();
      await Promise.all(servers.map((io) => io.close()));
    }
  });

  // Sharded Pub/Sub (Redis ≥ 7): the gateway SSUBSCRIBEs one channel per room, `<key>#/#{run:<id>}#`, plus
  // `<key>#/#` and its own response channel; ACL channel rules (`&ab:socket.io#/#*`) apply to shard
  // channels as they do to classic ones.
  test('two sharded adapters under the gateway user: rooms get a sharded publish of the bridge user, cross-server requests work; other shard channels refused', async () => {
    const servers: Server[] = [];
    const sockets: ClientSocket[] = [];
    const room = '{run:acl}';
    try {
      const { urls, received } = await twoServersInRoom(room, servers, sockets, (pub, sub) =>
        createShardedAdapter(pub, sub, { channelPrefix: keys.socketIoKey }),
      );
      await waitFor('both sockets in the room, seen across servers', async () => {
        return (await servers[0]!.in(room).fetchSockets()).length === 2;
      });
      // The bridge user SPUBLISHes to the room's channel (here through a sharded adapter of its own).
      const bridgeIo = new Server();
      servers.push(bridgeIo);
      bridgeIo.adapter(
        createShardedAdapter(h.connect('bridge'), h.connect('bridge'), { channelPrefix: keys.socketIoKey }),
      );
      bridgeIo.to(room).emit('agent_event', 'e1');
      await waitFor('both clients receive the event', () => received.length === 2);
      expect(received.sort()).toEqual(urls.map((u) => `${u} e1`).sort());
      const outsider = h.connect('gateway', 'worker');
      await expect(outsider.ssubscribe(`${keys.prefix}:elsewhere`)).rejects.toThrow(/NOPERM/);
      await expect(outsider.spublish(`${keys.socketIoKey}#/#${room}#`, 'x')).resolves.toBeDefined();
      outsider.disconnect();
    } finally {
      for (const s of sockets) s.disconnect();
      await Promise.all(servers.map((io) => io.close().catch(() => undefined)));
    }
  });
});
