import type { EventEnvelope } from '@agent-bridge/protocol';
import { type Socket, io } from 'socket.io-client';

interface RawRun {
  runId: string;
  /** What the "application" was handed, in order. */
  log: EventEnvelope[];
  lastSeq: number;
  epoch: number;
  pending: Map<number, EventEnvelope>;
  inFlight: boolean;
  again: boolean;
  timer: ReturnType<typeof setTimeout> | null;
}

interface Ack {
  ok: boolean;
  epoch: number;
  recovered: boolean;
  events: EventEnvelope[];
  hasMore: boolean;
}

/**
 * A client that speaks only docs/protocol.md over a bare `socket.io-client`, one gateway URL, no SDK: per run
 * `lastSeq` and `epoch`; an event at or below `lastSeq` is dropped, the next one handed over (then buffered
 * successors), a later one buffered and, if the hole is still there after 300 ms, read from history with
 * `subscribe { afterSeq: lastSeq, epoch }`; on (re)connect every run is subscribed again that way. Nothing
 * else: no head polling, so a hole at the end of a run is only ever filled by the gateway.
 */
export class RawClient {
  readonly runs = new Map<string, RawRun>();
  /** Successful connections (1 = never reconnected). */
  connects = 0;
  private socket: Socket | null = null;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const s = io(this.url, {
      auth: { token: this.token },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    this.socket = s;
    s.on('connect', () => {
      this.connects++;
      for (const run of this.runs.values()) this.request(run);
    });
    s.on('agent_event', (e: EventEnvelope) => {
      const run = this.runs.get(e.runId);
      if (!run) return;
      if (run.epoch !== 0 && e.epoch !== run.epoch) {
        this.request(run);
        return;
      }
      this.accept(run, e);
    });
    const again = (): void => {
      if (this.socket !== s || this.closed) return;
      s.removeAllListeners();
      s.close();
      this.socket = null;
      for (const run of this.runs.values()) run.inFlight = false;
      this.retry = setTimeout(() => this.open(), 200);
    };
    s.on('connect_error', again);
    s.on('disconnect', again);
  }

  /** Subscribes to a run; resolves after the first ack. */
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

  /** Events handed over for `runId`, in order. */
  received(runId: string): EventEnvelope[] {
    return this.runs.get(runId)?.log ?? [];
  }

  private request(run: RawRun): void {
    const s = this.socket;
    if (!s?.connected || this.closed) return;
    if (run.inFlight) {
      run.again = true;
      return;
    }
    run.inFlight = true;
    run.again = false;
    const req = run.lastSeq > 0 ? { runId: run.runId, afterSeq: run.lastSeq, epoch: run.epoch } : { runId: run.runId };
    s.timeout(10_000).emit('subscribe', req, (err: Error | null, ack: Ack) => {
      if (this.socket !== s) return;
      run.inFlight = false;
      if (err || !ack.ok) {
        setTimeout(() => this.request(run), 500);
        return;
      }
      if (!ack.recovered) {
        run.pending.clear();
        run.lastSeq = ack.events.length > 0 ? ack.events[0]!.seq - 1 : 0;
      }
      run.epoch = ack.epoch;
      for (const e of ack.events) this.accept(run, e);
      if (ack.hasMore || run.again) this.request(run);
    });
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
    run.log.push(e);
    run.lastSeq = e.seq;
    for (let next = run.pending.get(run.lastSeq + 1); next; next = run.pending.get(run.lastSeq + 1)) {
      run.pending.delete(next.seq);
      run.log.push(next);
      run.lastSeq = next.seq;
    }
    for (const seq of run.pending.keys()) if (seq <= run.lastSeq) run.pending.delete(seq);
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    for (const run of this.runs.values()) if (run.timer) clearTimeout(run.timer);
    this.socket?.removeAllListeners();
    this.socket?.close();
    this.socket = null;
  }
}
