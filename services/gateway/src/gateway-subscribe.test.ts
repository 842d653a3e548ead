import { type EventEnvelope, type SubscribeAck, keyLayout } from '@agent-bridge/protocol';
import { waitFor } from '@agent-bridge/testing';
import { signToken } from '@agent-bridge/auth';
import { outcome, useGatewayHarness } from './test-harness';

const h = useGatewayHarness();

describe('gateway subscribe', () => {
  it('answers INVALID_REQUEST, NOT_FOUND for an unregistered run and FORBIDDEN for another user’s run', async () => {
    const config = h.testConfig();
    const gw = await h.startGateway(config);
    await h.registerRun(config, 'run-bob-1', 'bob');
    const s = h.client(gw, { token: await signToken('alice', config.auth) });
    await outcome(s);
    const invalid = (await s.emitWithAck('subscribe', { runId: 'bad:id' })) as SubscribeAck;
    expect(invalid).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    const invalidSeq = (await s.emitWithAck('subscribe', { runId: 'run-x', afterSeq: -1 })) as SubscribeAck;
    expect(invalidSeq).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    const unknown = (await s.emitWithAck('subscribe', { runId: 'run-nobody' })) as SubscribeAck;
    expect(unknown).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const forbidden = (await s.emitWithAck('subscribe', { runId: 'run-bob-1' })) as SubscribeAck;
    expect(forbidden).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // Refused subscribers never join the room: an event for bob's run does not reach alice.
    const seen: unknown[] = [];
    s.on('agent_event', (e) => seen.push(e));
    const peer = await h.adapterPeer(config, gw.getStatus().pubsubMode ?? 'classic');
    peer.toRun('run-bob-1', 'agent_event', { runId: 'run-bob-1', seq: 1 });
    peer.close();
    const own = (await s.emitWithAck('subscribe', { runId: 'run-nobody-2' })) as SubscribeAck;
    expect(own.ok).toBe(false);
    expect(seen).toEqual([]);
  });

  it.each(['classic', 'sharded'] as const)(
    'delivers live events published in %s Pub/Sub to the subscribed owner (the real adapter’s format)',
    async (mode) => {
      const config = h.testConfig({ AB_PUBSUB_MODE: mode });
      const gw = await h.startGateway(config);
      expect(gw.getStatus().pubsubMode).toBe(mode);
      await h.registerRun(config, 'run-alice-1', 'alice');
      const s = h.client(gw, { token: await signToken('alice', config.auth) });
      await outcome(s);
      const ack = (await s.emitWithAck('subscribe', { runId: 'run-alice-1' })) as SubscribeAck;
      expect(ack).toMatchObject({
        ok: true,
        runId: 'run-alice-1',
        headSeq: 0,
        recovered: true,
        events: [],
        status: 'running',
      });
      const got: EventEnvelope[] = [];
      s.on('agent_event', (e: EventEnvelope) => got.push(e));
      const peer = await h.adapterPeer(config, mode);
      const event: EventEnvelope = {
        id: 'ev-1',
        runId: 'run-alice-1',
        seq: 1,
        epoch: 1,
        type: 'agent_started',
        ts: Date.now(),
        payload: { agent: 'test' },
      };
      peer.toRun('run-alice-1', 'agent_event', event);
      await waitFor('live event', () => got.length === 1);
      peer.close();
      expect(got).toEqual([event]);
      const unsub = (await s.emitWithAck('unsubscribe', { runId: 'run-alice-1' })) as { ok: boolean };
      expect(unsub).toEqual({ ok: true });
    },
  );
  it('replays history after afterSeq in pages and says recovered:false when the epoch changed or history was trimmed', async () => {
    const config = h.testConfig({ AB_REPLAY_PAGE_SIZE: 2 });
    const keys = keyLayout(config.keyPrefix);
    const gw = await h.startGateway(config);
    const runId = 'run-hist-1';
    await h.registerRun(config, runId, 'alice');
    const events: EventEnvelope[] = [1, 2, 3, 4, 5].map((seq) => ({
      id: `ev-${seq}`,
      runId,
      seq,
      epoch: 3,
      type: 'agent_thinking',
      ts: 1_000 + seq,
      payload: { delta: `d${seq}` },
    }));
    for (const e of events) await h.admin.xadd(keys.runHistory(runId), `${e.seq}-0`, 'e', JSON.stringify(e));
    await h.admin.hset(keys.runMeta(runId), { headSeq: 5, epoch: 3 });
    const s = h.client(gw, { token: await signToken('alice', config.auth) });
    await outcome(s);
    const sub = async (req: object): Promise<SubscribeAck> =>
      (await s.emitWithAck('subscribe', { runId, ...req })) as SubscribeAck;
    expect(await sub({})).toMatchObject({
      ok: true,
      epoch: 3,
      headSeq: 5,
      recovered: true,
      events: events.slice(0, 2),
      hasMore: true,
    });
    expect(await sub({ afterSeq: 2, epoch: 3 })).toMatchObject({
      recovered: true,
      events: events.slice(2, 4),
      hasMore: true,
    });
    expect(await sub({ afterSeq: 4, epoch: 3 })).toMatchObject({
      recovered: true,
      events: events.slice(4),
      hasMore: false,
    });
    // The client's epoch is gone: replay the current incarnation from its start.
    expect(await sub({ afterSeq: 4, epoch: 2 })).toMatchObject({
      recovered: false,
      epoch: 3,
      events: events.slice(0, 2),
    });
    await h.admin.xtrim(keys.runHistory(runId), 'MAXLEN', 2);
    expect(await sub({ afterSeq: 1, epoch: 3 })).toMatchObject({ recovered: false, events: events.slice(3, 5) });
    expect(await sub({ afterSeq: 3, epoch: 3 })).toMatchObject({ recovered: true, events: events.slice(3, 5) });
  });
});
