import { type BridgeClient, connect } from '@agent-bridge/client';
import type { EventEnvelope } from '@agent-bridge/protocol';
import { type Socket, io } from 'socket.io-client';
import type { DeliveryEntry, SubscriberHistory } from './history';

/** What both kinds of subscriber offer the nemesis. */
export interface Subscriber {
  readonly history: SubscriberHistory;
  /** Subscribes to one more run of its user. */
  add(runId: string): void;
  /** Events handed to the application so far (all runs). */
  delivered(runId: string): number;
  close(): void;
}

const entry = (e: EventEnvelope): DeliveryEntry => ({
  kind: 'event',
  id: e.id,
  seq: e.seq,
  epoch: e.epoch,
  type: e.type,
  payload: JSON.stringify(e.payload),
});

function count(log: DeliveryEntry[] | undefined): number {
  return (log ?? []).filter((e) => e.kind === 'event').length;
}

/** A subscriber using the client SDK, starting on `urls[0]` and failing over along the list. */
export class SdkSubscriber implements Subscriber {
  readonly history: SubscriberHistory;
  private readonly client: BridgeClient;

  constructor(name: string, userId: string, urls: string[], token: string) {
    this.history = { name, kind: 'sdk', userId, runs: {} };
    this.client = connect(urls, { token, reconnectDelayMs: 100, reconnectDelayMaxMs: 1_000 });
  }

  add(runId: string): void {
    const log: DeliveryEntry[] = [];
    this.history.runs[runId] = log;
    const sub = this.client.subscribe(runId, (e) => log.push(entry(e)), {
      onReset: (info) => log.push({ kind: 'reset', epoch: info.epoch }),
    });
    // A refused subscribe shows up as lost events in the checker; the SDK retries transport failures itself.
    sub.ready.catch(() => undefined);
  }

  delivered(runId: string): number {
    return count(this.history.runs[runId]);
  }

  close(): void {
    this.client.close();
  }
}

interface RawRun {
  runId: string;
  log: DeliveryEntry[];
  lastSeq: number;
  epoch: number;
  pending: Map<number, EventEnvelope>;
  inFlight: boolean;
  again: boolean;
  timer: ReturnType<typeof setTimeout> | null;
}

interface SubscribeAck {
  ok: boolean;
  epoch: number;
  recovered: boolean;
  events: EventEnvelope[];
  hasMore: boolean;
}

/**
 * A subscriber that speaks only docs/protocol.md over a bare `socket.io-client`: per run `lastSeq` and
 * `epoch`; an event at or below `lastSeq` is dropped, the next one delivered (then buffered successors), a
 * later one buffered and, when the hole is still there after 300 ms, read from history with
 * `subscribe { afterSeq: lastSeq, epoch }`; after every (re)connect — to the next URL when the gateway is
 * gone — every run is re-subscribed that way; `recovered: false` restarts delivery from the ack's events.
 */
export class RawSubscriber implements Subscriber {
  readonly history: SubscriberHistory;
  private readonly runs = new Map<string, RawRun>();
  private socket: Socket | null = null;
  private attempt = 0;
  private closed = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    name: string,
    userId: string,
    private readonly urls: string[],
    private readonly token: string,
  ) {
    this.history = { name, kind: 'raw', userId, runs: {} };
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const url = this.urls[this.attempt % this.urls.length]!;
    const s = io(url, {
      auth: { token: this.token },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 5_000,
    });
    this.socket = s;
    s.on('connect', () => {
      for (const run of this.runs.values()) this.request(run);
    });
    s.on('agent_event', (e: EventEnvelope) => this.onLive(e));
    const retry = (): void => {
      if (this.socket !== s || this.closed) return;
      s.removeAllListeners();
      s.close();
      this.socket = null;
      for (const run of this.runs.values()) run.inFlight = false;
      this.attempt++;
      this.retryTimer = setTimeout(() => this.open(), 200);
    };
    s.on('connect_error', retry);
    s.on('disconnect', retry);
  }

  add(runId: string): void {
    const run: RawRun = {
      runId,
      log: [],
      lastSeq: 0,
      epoch: 0,
      pending: new Map(),
      inFlight: false,
      again: false,
      timer: null,
    };
    this.runs.set(runId, run);
    this.history.runs[runId] = run.log;
    this.request(run);
  }

  delivered(runId: string): number {
    return count(this.history.runs[runId]);
  }

  private request(run: RawRun): void {
    const s = this.socket;
    if (!s?.connected || this.closed) return; // the next connect re-subscribes every run
    if (run.inFlight) {
      run.again = true;
      return;
    }
    run.inFlight = true;
    run.again = false;
    const req = run.lastSeq > 0 ? { runId: run.runId, afterSeq: run.lastSeq, epoch: run.epoch } : { runId: run.runId };
    s.timeout(10_000).emit('subscribe', req, (err: Error | null, ack: SubscribeAck) => {
      if (this.socket !== s) return;
      run.inFlight = false;
      if (err || !ack.ok) {
        // Timed out or refused (e.g. RATE_LIMITED, INTERNAL while Redis restarts): ask again shortly.
        setTimeout(() => this.request(run), 500);
        return;
      }
      if (!ack.recovered) {
        run.log.push({ kind: 'reset', epoch: ack.epoch });
        run.pending.clear();
        run.lastSeq = ack.events.length > 0 ? ack.events[0]!.seq - 1 : 0;
      }
      run.epoch = ack.epoch;
      for (const e of ack.events) this.accept(run, e);
      if (ack.hasMore || run.again || run.pending.size > 0) this.request(run);
    });
  }

  private onLive(e: EventEnvelope): void {
    const run = this.runs.get(e.runId);
    if (!run) return;
    if (run.epoch !== 0 && e.epoch !== run.epoch) {
      // Another incarnation of the history: let the gateway say what can be recovered.
      this.request(run);
      return;
    }
    run.epoch = e.epoch;
    this.accept(run, e);
  }

  private accept(run: RawRun, e: EventEnvelope): void {
    if (e.seq <= run.lastSeq) return;
    if (e.seq > run.lastSeq + 1) {
      run.pending.set(e.seq, e);
      run.timer ??= setTimeout(() => {
        run.timer = null;
        if (run.pending.size > 0) this.request(run);
      }, 300);
      return;
    }
    run.log.push(entry(e));
    run.lastSeq = e.seq;
    for (let next = run.pending.get(run.lastSeq + 1); next; next = run.pending.get(run.lastSeq + 1)) {
      run.pending.delete(next.seq);
      run.log.push(entry(next));
      run.lastSeq = next.seq;
    }
    for (const seq of run.pending.keys()) if (seq <= run.lastSeq) run.pending.delete(seq);
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const run of this.runs.values()) if (run.timer) clearTimeout(run.timer);
    this.socket?.removeAllListeners();
    this.socket?.close();
    this.socket = null;
  }
}
