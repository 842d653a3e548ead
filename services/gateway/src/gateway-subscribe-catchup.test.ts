/**
 * A socket that subscribes while the gateway catches up after a lost adapter subscription (guarantee 1.9):
 * the catch-up listed its rooms before this one existed, so only the room's own SSUBSCRIBE brings it live
 * events. Real redis-server, the real gateway and a raw socket.io-client; a proxy delays the gateway's
 * subscriber link only, so the catch-up lasts a while and the room's SSUBSCRIBE reaches Redis late.
 */
import { signToken } from '@agent-bridge/auth';
import { type EventEnvelope, type SubscribeAck, keyLayout, runRoom } from '@agent-bridge/protocol';
import { TcpProxy, waitFor } from '@agent-bridge/testing';
import type { Server } from 'socket.io';
import type { Gateway } from './index';
import { outcome, useGatewayHarness } from './test-harness';

const h = useGatewayHarness();
jest.setTimeout(120_000);

/** One-way delay of the gateway's subscriber link: far above a subscribe's round trip on the command link. */
const SUB_DELAY_MS = 1_500;
const SUB_LINK = /^gateway:.*:sub$/;
const RUN_ID = 'run-join-catchup';
const ROOM = runRoom(RUN_ID, 'sharded');

/** A sharded gateway behind a proxy, a raw socket of the run's owner, and a committer of the run's events. */
async function setup(): Promise<{
  proxy: TcpProxy;
  gw: Gateway;
  subscribe: () => Promise<SubscribeAck>;
  got: EventEnvelope[];
  commit: (seq: number) => Promise<EventEnvelope>;
  /** Subscribers of the room's channel in Redis. */
  subscribers: () => Promise<number>;
  close: () => Promise<void>;
}> {
  const proxy = await TcpProxy.start(h.redis.port);
  const config = h.testConfig({
    REDIS_URL: proxy.url,
    AB_PUBSUB_MODE: 'sharded',
    // The delayed link is slow, not stalled: the liveness check must not tear it down meanwhile.
    AB_GATEWAY_SUB_PING_TIMEOUT_MS: 60_000,
  });
  const keys = keyLayout(config.keyPrefix);
  const gw = await h.startGateway(config);
  const peer = await h.adapterPeer(config, 'sharded');
  await h.registerRun(config, RUN_ID, 'alice');
  const s = h.client(gw, { token: await signToken('alice', config.auth) });
  expect(await outcome(s)).toEqual({ connected: true });
  const got: EventEnvelope[] = [];
  s.on('agent_event', (e: EventEnvelope) => got.push(e));
  const channel = `${keys.socketIoKey}#/#${ROOM}#`;
  const subscribers = async (): Promise<number> =>
    ((await h.admin.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1];
  return {
    proxy,
    gw,
    subscribe: async () => (await s.emitWithAck('subscribe', { runId: RUN_ID })) as SubscribeAck,
    got,
    subscribers,
    async commit(seq) {
      const event: EventEnvelope = {
        id: `ev-${seq}`,
        runId: RUN_ID,
        seq,
        epoch: 1,
        type: 'agent_thinking',
        ts: Date.now(),
        payload: { delta: `d${seq}` },
      };
      await h.admin.xadd(keys.runHistory(RUN_ID), `${seq}-0`, 'e', JSON.stringify(event));
      await h.admin.hset(keys.runMeta(RUN_ID), { headSeq: seq, epoch: 1 });
      peer.toRun(RUN_ID, 'agent_event', event);
      return event;
    },
    async close() {
      // Leave with the link healthy: the adapter's SUNSUBSCRIBE must be answered before the gateway closes.
      proxy.heal();
      s.disconnect();
      await waitFor('room unsubscribed', async () => (await subscribers()) === 0, { timeoutMs: 30_000 });
      peer.close();
      await gw.close();
      await proxy.close();
    },
  };
}

/** Loses the gateway's subscriber link (delayed from now on) and waits until its catch-up runs. */
async function catchingUp(proxy: TcpProxy, gw: Gateway): Promise<void> {
  proxy.delay(SUB_DELAY_MS, SUB_LINK);
  proxy.reset(SUB_LINK);
  await waitFor('catching-up', () => gw.getStatus().subscription.state === 'catching-up', {
    timeoutMs: 30_000,
    intervalMs: 10,
  });
}

const state = (gw: Gateway): string => gw.getStatus().subscription.state;

describe('gateway subscribe during a catch-up', () => {
  it('a raw socket subscribing while the gateway is catching-up gets an event committed right after its replay, once and in order (sharded)', async () => {
    const t = await setup();
    try {
      await catchingUp(t.proxy, t.gw);
      const sentAt = Date.now();
      expect(await t.subscribe()).toMatchObject({ ok: true, headSeq: 0, events: [] });
      // Right after the replay read: the room's SSUBSCRIBE must already be in effect.
      const first = await t.commit(1);
      await waitFor('live again', () => state(t.gw) === 'live', { timeoutMs: 30_000 });
      // The subscribe was handled during the catch-up (it ended after the request was sent).
      expect(t.gw.getStatus().subscription.lastResyncAt).toBeGreaterThanOrEqual(sentAt);
      await waitFor('room subscribed', async () => (await t.subscribers()) === 1);
      const second = await t.commit(2);
      await waitFor('second event', () => t.got.some((e) => e.seq === 2), { timeoutMs: 30_000 });
      expect(t.got).toEqual([first, second]);
    } finally {
      await t.close();
    }
  });

  it('a subscribe waiting for its room’s SSUBSCRIBE is answered when the link drops meanwhile; the next catch-up serves the room', async () => {
    const t = await setup();
    try {
      await catchingUp(t.proxy, t.gw);
      let ack: SubscribeAck | null = null;
      void t.subscribe().then((a) => (ack = a));
      // The socket is in the room, so its SSUBSCRIBE is on its way (answered a delay later at the earliest).
      const io = (t.gw as unknown as { io: Server }).io;
      await waitFor('room joined', () => io.of('/').adapter.rooms.has(ROOM), { intervalMs: 5 });
      t.proxy.cut(SUB_LINK);
      await waitFor('lost', () => state(t.gw) === 'lost');
      // Not held until the link is back: the catch-up that follows the outage covers the room.
      await waitFor('ack during the outage', () => ack, { timeoutMs: 20_000 });
      expect(state(t.gw)).toBe('lost');
      expect(ack).toMatchObject({ ok: true, headSeq: 0, events: [] });
      const first = await t.commit(1);
      t.proxy.heal();
      await waitFor('live again', () => state(t.gw) === 'live', { timeoutMs: 30_000 });
      await waitFor('first event', () => t.got.length > 0, { timeoutMs: 30_000 });
      expect(t.got).toEqual([first]);
    } finally {
      await t.close();
    }
  });
});
