import { type AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { type EventEnvelope, runRoom } from '@agent-bridge/protocol';
import { readHistory } from '@agent-bridge/redis';
import { RedisCluster, destroyAllRedis, sleep, waitFor } from '@agent-bridge/testing';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { sweepGaps } from './index';
import { Harness, jobOf, makeEvent, shuffle, standaloneRedisHarness } from './test-harness';

// The event router's delivery through the real Socket.IO Redis adapter (classic and sharded Pub/Sub) and its
// commits on a Redis Cluster; event-router.test.ts covers the pipeline itself on a standalone Redis.

afterAll(destroyAllRedis);

async function historyOf(h: Harness, runId: string): Promise<EventEnvelope[]> {
  return (await readHistory(h.conn, h.keys, runId, 0, 100_000)).events;
}

describe('EventRouter publishing through @socket.io/redis-adapter (standalone Redis)', () => {
  const redis = standaloneRedisHarness();
  const { harness } = redis;
  let h: Harness;

  // `run-of-14chars`: the sharded room of a 14-character id is renamed (runRoom) and must still reach the adapter's room.
  it.each([
    ['classic', 'live'],
    ['sharded', 'live'],
    ['sharded', 'run-of-14chars'],
  ] as const)(
    'delivers agent_event to a real Socket.IO client in the run room through @socket.io/redis-adapter (%s Pub/Sub: channel and message format of the real adapter; run %s)',
    async (mode, runId) => {
      h = await harness({ AB_PUBSUB_MODE: mode });
      expect(h.pubsubMode).toBe(mode);
      const pub = new Redis(redis.server.port, '127.0.0.1');
      const sub = pub.duplicate();
      const http = createServer();
      const adapter =
        mode === 'sharded'
          ? createShardedAdapter(pub, sub, { channelPrefix: h.keys.socketIoKey })
          : createAdapter(pub, sub, { key: h.keys.socketIoKey });
      const ioServer = new Server(http, { adapter });
      ioServer.on('connection', (socket) => {
        void socket.join(runRoom(String(socket.handshake.query['runId']), mode));
        // Sharded: the room's SSUBSCRIBE is sent on join; this PING is answered after it.
        void sub.ping().then(() => socket.emit('joined'));
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      const port = (http.address() as AddressInfo).port;
      const client = connectClient(`http://127.0.0.1:${port}`, { query: { runId }, transports: ['websocket'] });
      try {
        const got: EventEnvelope[] = [];
        client.on('agent_event', (e: EventEnvelope) => got.push(e));
        await new Promise<void>((resolve) => client.once('joined', () => resolve()));
        await h.startRouter();
        for (let seq = 1; seq <= 5; seq++) {
          await h.queue.add('event', makeEvent(runId, seq), { jobId: `e-${runId}-${seq}` });
          await waitFor(`seq ${seq} delivered`, () => got.length === seq);
        }
        const history = await historyOf(h, runId);
        expect(got).toEqual(history);
      } finally {
        client.close();
        await ioServer.close();
        pub.disconnect();
        sub.disconnect();
      }
    },
  );
});

describe('EventRouter on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let h: Harness;
  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
  });
  afterEach(Harness.closeAll);
  afterAll(async () => {
    await cluster.destroy();
  });

  it('commits shuffled events of runs on every master in seq order, and sweeps a gap', async () => {
    h = await Harness.create({
      redisEnv: { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.seeds.join(',') },
      env: { AB_GAP_TIMEOUT_MS: '200' },
    });
    const runs = Array.from({ length: 12 }, (_, i) => `crun-${i}`);
    const events = runs.flatMap((runId) => Array.from({ length: 10 }, (_, s) => makeEvent(runId, s + 1)));
    // crun-0 loses its seq 5.
    await h.queue.addBulk(shuffle(events.filter((e) => !(e.runId === 'crun-0' && e.seq === 5))).map(jobOf));
    await h.startRouter();
    await waitFor('committed', async () => {
      const heads = await Promise.all(runs.map((r) => h.headSeq(r)));
      return heads[0] === 4 && heads.slice(1).every((x) => x === 10);
    });
    await sleep(300);
    await waitFor('gap swept', async () => {
      await sweepGaps(h.sweepDeps(), new AbortController().signal);
      return (await h.headSeq('crun-0')) === 10;
    });
    for (const runId of runs) {
      const history = await historyOf(h, runId);
      expect(history.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(history.map((e) => e.type === 'gap')).toEqual(
        Array.from({ length: 10 }, (_, i) => runId === 'crun-0' && i === 4),
      );
    }
    await waitFor('published', () => runs.every((r) => h.publishedSeqs(r).length === 10));
    for (const runId of runs) {
      expect((h.published.get(runId) ?? []).map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    }
    // The runs really are spread over the masters.
    const perNode = await Promise.all(
      cluster.nodes.map(
        async (n) =>
          (await n.cli('--scan', '--pattern', `${h.config.keyPrefix}:{run:*}:meta`)).split('\n').filter(Boolean).length,
      ),
    );
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(12);
    expect(perNode.every((c) => c > 0)).toBe(true);
  });

  it('guarantee 1.1: sharded Pub/Sub commits and publishes runs of every id length, 14 characters included (room as long as a socket id)', async () => {
    h = await Harness.create({ redisEnv: { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.seeds.join(',') } });
    expect(h.pubsubMode).toBe('sharded');
    // `{run:<id>}` is 20 characters for a 14-character id: the sharded adapter takes such a room for a socket
    // id and publishes on its main channel, outside the run's slot, which the commit script may not do on a
    // Cluster ("Script attempted to access a non local key"): every commit of the run failed and it stalled.
    const seed = [0, 1, 2, 3, 4, 5].map((i) => `len14-run-000${i}`);
    expect(seed.every((r) => r.length === 14)).toBe(true);
    const runs = [...seed, 'len13-run-000', 'len15-run-00000'];
    const slot = async (key: string) => Number(await cluster.nodes[0]!.cli('cluster', 'keyslot', key));
    for (const len of [1, 12, 13, 14, 15, 16, 40]) {
      const runId = 'r'.repeat(len);
      expect(await slot(h.publisher.template(runId).channel)).toBe(await slot(h.keys.runMeta(runId)));
    }
    await h.queue.addBulk(shuffle(runs.flatMap((runId) => [1, 2, 3, 4, 5].map((s) => makeEvent(runId, s)))).map(jobOf));
    await h.startRouter();
    await waitFor('committed', async () => (await Promise.all(runs.map((r) => h.headSeq(r)))).every((x) => x === 5));
    await waitFor('published', () => runs.every((r) => h.publishedSeqs(r).length === 5));
    for (const runId of runs) {
      expect((await historyOf(h, runId)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    }
    expect(h.routers[0]!.getStatus().errors).toBe(0);
  });
});
