import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventEnvelope, SubscribeAck, SubscribeRequest } from '@agent-bridge/protocol';
import { waitFor } from '@agent-bridge/testing';
import { Server, type Socket } from 'socket.io';
import { type BridgeClient, connect } from './index';

/**
 * A scripted Socket.IO server speaking the gateway protocol over an in-memory history, so the client's
 * ordering logic can be driven through exact situations (overtaking, duplicates, gaps, resets, dead
 * gateways). The real gateway is exercised by the end-to-end tests in test/e2e.
 */
class ScriptedGateway {
  readonly subscribes: SubscribeRequest[] = [];
  private constructor(
    readonly io: Server,
    readonly url: string,
    readonly store: { history: EventEnvelope[]; epoch: number; pageSize: number; refuse?: string },
  ) {}

  static async start(store: ScriptedGateway['store']): Promise<ScriptedGateway> {
    const http = createServer();
    const io = new Server(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const gw = new ScriptedGateway(io, `http://127.0.0.1:${(http.address() as AddressInfo).port}`, store);
    io.use((socket, next) => {
      if ((socket.handshake.auth as { token?: string }).token === 'good') next();
      else next(Object.assign(new Error('invalid token'), { data: { code: 'UNAUTHORIZED' } }));
    });
    io.on('connection', (socket) => gw.onConnection(socket));
    return gw;
  }

  private onConnection(socket: Socket): void {
    socket.on('subscribe', (req: SubscribeRequest, ack: (res: SubscribeAck) => void) => {
      this.subscribes.push(req);
      if (this.store.refuse) {
        ack({ ok: false, error: { code: this.store.refuse as 'FORBIDDEN', message: 'refused' } });
        return;
      }
      void socket.join(req.runId);
      const afterSeq = req.afterSeq ?? 0;
      const lost = req.epoch !== undefined && req.epoch !== this.store.epoch && afterSeq > 0;
      const from = lost ? 0 : afterSeq;
      const after = this.store.history.filter((e) => e.seq > from);
      ack({
        ok: true,
        runId: req.runId,
        epoch: this.store.epoch,
        headSeq: this.store.history.at(-1)?.seq ?? 0,
        recovered: !lost,
        events: after.slice(0, this.store.pageSize),
        hasMore: after.length > this.store.pageSize,
        status: 'running',
      });
    });
    socket.on('start_run', (_req: unknown, ack: (res: unknown) => void) => ack({ ok: true, runId: 'run-new' }));
  }

  /** Sends events live to the run's room (without adding them to history). */
  live(runId: string, events: EventEnvelope[]): void {
    for (const e of events) this.io.to(runId).emit('agent_event', e);
  }

  async close(): Promise<void> {
    this.io.disconnectSockets(true);
    await new Promise<void>((resolve) => void this.io.close(() => resolve()));
  }
}

function events(runId: string, from: number, to: number, epoch = 1): EventEnvelope[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    id: `${runId}-e${from + i}`,
    runId,
    seq: from + i,
    epoch,
    type: 'agent_thinking',
    ts: 1_000 + from + i,
    payload: { delta: String(from + i) },
  }));
}

const gateways: ScriptedGateway[] = [];
const clients: BridgeClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

async function gateway(store: ScriptedGateway['store']): Promise<ScriptedGateway> {
  const gw = await ScriptedGateway.start(store);
  gateways.push(gw);
  return gw;
}

function client(urls: string | string[], token = 'good'): BridgeClient {
  const c = connect(urls, { token, reconnectDelayMs: 20, gapFillDelayMs: 50 });
  clients.push(c);
  return c;
}

const seqs = (list: EventEnvelope[]): number[] => list.map((e) => e.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('client SDK ordering (guarantee 1.2: per-run order, exactly once, no gaps)', () => {
  it('delivers overtaking and duplicated live events in seq order, each once', async () => {
    const store = { history: events('r1', 1, 3), epoch: 1, pageSize: 1000 };
    const gw = await gateway(store);
    const c = client(gw.url);
    const got: EventEnvelope[] = [];
    const sub = c.subscribe('r1', (e) => got.push(e));
    await sub.ready;
    const more = events('r1', 4, 9);
    store.history.push(...more);
    // 6 and 5 overtake 4; 4, 7 and 3 are sent twice.
    gw.live('r1', [
      more[2]!,
      more[1]!,
      more[0]!,
      more[0]!,
      events('r1', 3, 3)[0]!,
      more[3]!,
      more[3]!,
      more[4]!,
      more[5]!,
    ]);
    await waitFor('9 events', () => got.length >= 9);
    expect(seqs(got)).toEqual(range(1, 9));
    expect(got.map((e) => e.id)).toEqual(range(1, 9).map((n) => `r1-e${n}`));
    expect(sub.lastSeq).toBe(9);
    expect(c.stats()).toMatchObject({
      liveEvents: 9,
      replayedEvents: 3,
      duplicatesDropped: 3,
      earlyArrivals: 2,
      subscribeRequests: 1,
      gapFills: 0,
      connects: 1,
    });
  });

  it('fills a gap that never arrives live by re-subscribing with afterSeq', async () => {
    const store = { history: events('r2', 1, 2), epoch: 1, pageSize: 1000 };
    const gw = await gateway(store);
    const c = client(gw.url);
    const got: EventEnvelope[] = [];
    await c.subscribe('r2', (e) => got.push(e)).ready;
    store.history.push(...events('r2', 3, 6));
    gw.live('r2', events('r2', 5, 6)); // 3 and 4 were committed but their live messages were lost
    await waitFor('6 events', () => got.length >= 6);
    expect(seqs(got)).toEqual(range(1, 6));
    expect(gw.subscribes.map((s) => s.afterSeq)).toEqual([0, 2]);
    expect(c.stats()).toMatchObject({ gapFills: 1, subscribeRequests: 2, earlyArrivals: 2 });
  });

  it('pages through a long history (2,500 events, pages of 1,000) in order', async () => {
    const gw = await gateway({ history: events('r3', 1, 2_500), epoch: 1, pageSize: 1_000 });
    const c = client(gw.url);
    const got: EventEnvelope[] = [];
    await c.subscribe('r3', (e) => got.push(e)).ready;
    await waitFor('2500 events', () => got.length >= 2_500);
    expect(seqs(got)).toEqual(range(1, 2_500));
    expect(gw.subscribes.map((s) => s.afterSeq)).toEqual([0, 1_000, 2_000]);
  });

  it('resumes on the next gateway when its gateway dies, with afterSeq = last delivered and the epoch', async () => {
    const store = { history: events('r4', 1, 10, 7), epoch: 7, pageSize: 1000 };
    const a = await gateway(store);
    const b = await gateway(store);
    const c = client([a.url, b.url]);
    const got: EventEnvelope[] = [];
    const states: string[] = [];
    c.onState((s) => states.push(s));
    await c.subscribe('r4', (e) => got.push(e)).ready;
    // Committed while the client's gateway dies: their live messages never reach it.
    store.history.push(...events('r4', 11, 20, 7));
    await a.close();
    await waitFor('20 events', () => got.length >= 20);
    expect(seqs(got)).toEqual(range(1, 20));
    expect(c.url).toBe(b.url);
    expect(b.subscribes).toEqual([{ runId: 'r4', afterSeq: 10, epoch: 7 }]);
    expect(states).toEqual(['connected', 'reconnecting', 'connected']);
  });

  it('tells the app when history was lost (recovered:false) and delivers the new history from its start', async () => {
    const store = { history: events('r5', 1, 5, 1), epoch: 1, pageSize: 1000 };
    const a = await gateway(store);
    const c = client(a.url);
    const got: EventEnvelope[] = [];
    const resets: unknown[] = [];
    await c.subscribe('r5', (e) => got.push(e), { onReset: (info) => resets.push(info) }).ready;
    await waitFor('5 events', () => got.length >= 5);
    // History lost and restarted with a new epoch; a live event of the new incarnation arrives.
    store.history = events('r5', 1, 3, 2);
    store.epoch = 2;
    a.live('r5', [store.history[2]!]);
    await waitFor('reset and 3 more events', () => got.length >= 8);
    expect(resets).toEqual([{ runId: 'r5', epoch: 2, headSeq: 3, status: 'running', recovered: false }]);
    expect(got.map((e) => `${e.epoch}:${e.seq}`)).toEqual(['1:1', '1:2', '1:3', '1:4', '1:5', '2:1', '2:2', '2:3']);
  });

  it('rejects `ready` with the gateway’s error code and stops when access is refused', async () => {
    const gw = await gateway({ history: [], epoch: 0, pageSize: 10, refuse: 'FORBIDDEN' });
    const c = client(gw.url);
    const sub = c.subscribe('r6', () => undefined);
    await expect(sub.ready).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(gw.subscribes).toHaveLength(1);
  });

  it('reports `unauthorized` for a refused token instead of retrying forever', async () => {
    const gw = await gateway({ history: [], epoch: 0, pageSize: 10 });
    const c = client(gw.url, 'bad');
    await expect(c.waitConnected(5_000)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(c.state).toBe('unauthorized');
  });

  it('startRun resolves with the run id from the ack', async () => {
    const gw = await gateway({ history: [], epoch: 0, pageSize: 10 });
    const c = client(gw.url);
    await expect(c.startRun('hello')).resolves.toBe('run-new');
  });
});
