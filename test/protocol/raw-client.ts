import type { EventEnvelope } from '@agent-bridge/protocol';
import { type Socket, io } from 'socket.io-client';

interface RawRun {
  runId: string;
  /** What the "application" was handed, in order (a reset does not clear it). */
  log: EventEnvelope[];
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

/** What a {@link RawClient} tells its user besides {@link RawClient.received}. */
export interface RawClientHooks {
  /** An event handed to the application (per run in seq order, no duplicates). */
  onEvent?(runId: string, e: EventEnvelope): void;
  /** A `recovered: false` ack: delivery of the run restarts from the ack's events under `epoch`. */
  onReset?(runId: string, epoch: number): void;
}

/**
 * A client that speaks only docs/protocol.md over a bare `socket.io-client`, no SDK — the contract-only
 * subscriber of the e2e fault tests and of the nemesis suite. Per run `lastSeq` and `epoch`: an event at
 * or below `lastSeq` is dropped, the next one handed over (then buffered successors), a later one buffered
 * and, when the hole is still there after 300 ms, read from history with
 * `subscribe { afterSeq: lastSeq, epoch }`; after every (re)connect — to the next URL of the list when the
 * gateway is gone — every run is subscribed again that way; `recovered: false` restarts delivery from the
 * ack's events. Nothing else: no head polling, so a hole at the end of a run is only ever filled by the
 * gateway.
 */
export class RawClient {
  readonly runs = new Map<string, RawRun>();
  /** Successful connections (1 = never reconnected). */
  connects = 0;
  private readonly urls: string[];
  private socket: Socket | null = null;
  private attempt = 0;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | null = null;

  constructor(
    urls: string | string[],
    private readonly token: string,
    private readonly hooks: RawClientHooks = {},
  ) {
    this.urls = typeof urls === 'string' ? [urls] : urls;
    this.open();
  }

  /** Subscribes to a run (from its start); events arrive through `received` and the hooks. */
  subscribe(runId: string): void {
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
    this.request(run);
  }

  /** Events handed over for `runId`, in order (a reset does not clear it; see `onReset`). */
  received(runId: string): EventEnvelope[] {
    return this.runs.get(runId)?.log ?? [];
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    for (const run of this.runs.values()) if (run.timer) clearTimeout(run.timer);
    this.socket?.removeAllListeners();
    this.socket?.close();
    this.socket = null;
  }

  private open(): void {
    if (this.closed) return;
    const s = io(this.urls[this.attempt % this.urls.length], {
      auth: { token: this.token },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 5_000,
    });
    this.socket = s;
    s.on('connect', () => {
      this.connects++;
      for (const run of this.runs.values()) this.request(run);
    });
    s.on('agent_event', (e: EventEnvelope) => this.onLive(e));
    const again = (): void => {
      if (this.socket !== s || this.closed) return;
      s.removeAllListeners();
      s.close();
      this.socket = null;
      for (const run of this.runs.values()) run.inFlight = false;
      this.attempt++;
      this.retry = setTimeout(() => this.open(), 200);
    };
    s.on('connect_error', again);
    s.on('disconnect', again);
  }

  private request(run: RawRun): void {
    const s = this.socket;
    if (!s?.connected || this.closed) return; // the next connect subscribes every run again
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
        this.hooks.onReset?.(run.runId, ack.epoch);
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
    this.deliver(run, e);
    for (let next = run.pending.get(run.lastSeq + 1); next; next = run.pending.get(run.lastSeq + 1)) {
      run.pending.delete(next.seq);
      this.deliver(run, next);
    }
    for (const seq of run.pending.keys()) if (seq <= run.lastSeq) run.pending.delete(seq);
  }

  private deliver(run: RawRun, e: EventEnvelope): void {
    run.log.push(e);
    run.lastSeq = e.seq;
    this.hooks.onEvent?.(run.runId, e);
  }
}
