import {
  AgentBridgeError,
  ErrorCode,
  type EventEnvelope,
  type SimpleAck,
  type StartRunAck,
  type SubscribeAck,
  type SubscribeOk,
  TERMINAL_EVENT_TYPES,
  type WireError,
  isTerminalRunStatus,
} from '@agent-bridge/protocol';
import { GatewayConnection, type ResolvedConnectOptions } from './connection';
import { HeadCheck } from './head-check';
import { type RunSub, newRunSub } from './run-sub';
import { FATAL_CODES, toError } from './wire-errors';
import { retryAfterMs } from './retry-after';
import {
  type ClientStats,
  type ConnectOptions,
  type ConnectionState,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionInfo,
} from './types';

/**
 * A connection to agent-bridge gateways. Guarantees, per subscribed run: `onEvent` is called in seq
 * order, each seq once, without gaps — across reconnects (to the next gateway URL when one dies), live
 * events that overtake each other and replay/live overlap. Missing seqs are fetched with
 * `subscribe { afterSeq }`; replays are paged. When the history cannot be continued (`recovered: false`)
 * the app is told through `onReset` and delivery restarts from the oldest event still in history.
 */
export class BridgeClient {
  private readonly subs = new Map<string, RunSub>();
  private readonly counters: ClientStats = {
    liveEvents: 0,
    replayedEvents: 0,
    duplicatesDropped: 0,
    earlyArrivals: 0,
    subscribeRequests: 0,
    gapFills: 0,
    headChecks: 0,
    resets: 0,
    connects: 0,
    reauths: 0,
    refusedConnects: 0,
  };
  private readonly options: ResolvedConnectOptions;
  private readonly headCheck: HeadCheck<RunSub>;
  private readonly connection: GatewayConnection;

  constructor(urls: readonly string[], options: ConnectOptions) {
    if (urls.length === 0) throw new RangeError('at least one gateway URL is required');
    this.options = {
      token: options.token,
      transports: options.transports ?? ['websocket'],
      reconnectDelayMs: options.reconnectDelayMs ?? 100,
      reconnectDelayMaxMs: options.reconnectDelayMaxMs ?? 3_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      maxBufferedEvents: options.maxBufferedEvents ?? 10_000,
      gapFillDelayMs: options.gapFillDelayMs ?? 300,
      extraHeaders: options.extraHeaders,
      headCheckAfterMs: options.headCheckAfterMs ?? 5_000,
    };
    if (!(this.options.headCheckAfterMs >= 0)) throw new RangeError('headCheckAfterMs must be ≥ 0');
    this.headCheck = new HeadCheck<RunSub>({
      afterMs: this.options.headCheckAfterMs,
      maxPerTick: 20,
      items: () => this.subs.values(),
      lastActivity: (sub) =>
        sub.active && sub.isReady && !sub.ended && !sub.inFlight && this.connection.state === 'connected'
          ? sub.lastActivityAt
          : null,
      check: (sub) => {
        sub.lastActivityAt = Date.now();
        this.counters.headChecks++;
        this.sync(sub);
      },
    });
    this.connection = new GatewayConnection(urls, this.options, this.counters, {
      onConnect: () => {
        for (const sub of this.subs.values()) {
          sub.inFlight = false;
          this.sync(sub);
        }
      },
      onEvent: (event) => {
        const sub = this.subs.get(event.runId);
        if (sub?.active) this.accept(sub, event);
      },
    });
    this.headCheck.start();
    this.connection.open();
  }

  /** Current connection state. */
  get state(): ConnectionState {
    return this.connection.state;
  }

  /** URL of the gateway currently used (or being tried). */
  get url(): string {
    return this.connection.url;
  }

  /** A snapshot of the client's counters (for monitoring and benchmarks). */
  stats(): ClientStats {
    return { ...this.counters };
  }

  /** Calls `listener` on every state change; returns a function that removes it. */
  onState(listener: (state: ConnectionState, detail?: unknown) => void): () => void {
    return this.connection.onState(listener);
  }

  /** Resolves once connected (rejects when unauthorized or closed, or after `timeoutMs`). */
  waitConnected(timeoutMs = this.options.requestTimeoutMs): Promise<void> {
    return this.connection.waitConnected(timeoutMs);
  }

  /**
   * Subscribes to a run: replays its history after `afterSeq`, then delivers live events, in order,
   * each seq once. Resubscribes automatically after reconnects.
   */
  subscribe(runId: string, onEvent: (event: EventEnvelope) => void, options: SubscribeOptions = {}): Subscription {
    if (this.connection.state === 'closed') throw new AgentBridgeError(ErrorCode.IllegalState, 'client is closed');
    if (this.subs.has(runId)) throw new AgentBridgeError(ErrorCode.InvalidRequest, `already subscribed to ${runId}`);
    const sub = newRunSub(runId, onEvent, options);
    this.subs.set(runId, sub);
    this.sync(sub);
    return {
      runId,
      ready: sub.ready.promise,
      get lastSeq() {
        return sub.lastSeq;
      },
      unsubscribe: () => this.unsubscribe(sub),
    };
  }

  /** Asks an agent to start a run for the token's user; resolves with its run id. */
  async startRun(prompt: string, agent?: string): Promise<string> {
    const res = await this.connection.request<StartRunAck>(
      'start_run',
      agent === undefined ? { prompt } : { prompt, agent },
    );
    if (!res.ok) throw toError(res.error);
    return res.runId;
  }

  /** Asks the agent of one of the user's runs to stop. */
  async cancelRun(runId: string): Promise<void> {
    const res = await this.connection.request<SimpleAck>('cancel_run', { runId });
    if (!res.ok) throw toError(res.error);
  }

  /** Disconnects and ends every subscription. Idempotent. */
  close(): void {
    if (this.connection.state === 'closed') return;
    for (const sub of this.subs.values()) this.stop(sub);
    this.subs.clear();
    this.headCheck.stop();
    this.connection.close();
  }

  // --- per-run ordering ---------------------------------------------------------------------------

  private deliver(sub: RunSub, event: EventEnvelope): void {
    sub.lastSeq = event.seq;
    sub.lastActivityAt = Date.now();
    if (TERMINAL_EVENT_TYPES.has(event.type)) sub.ended = true;
    try {
      sub.onEvent(event);
    } catch {
      // The app's handler failing must not stop delivery of the next events.
    }
  }

  private accept(sub: RunSub, event: EventEnvelope, fromReplay = false): void {
    if (!fromReplay && sub.epoch !== 0 && event.epoch !== 0 && event.epoch !== sub.epoch) {
      // The history was recreated: let the gateway tell us what can be recovered.
      this.sync(sub);
      return;
    }
    if (event.seq <= sub.lastSeq) {
      this.counters.duplicatesDropped++;
      return;
    }
    if (event.seq === sub.lastSeq + 1) {
      this.deliver(sub, event);
      let next = sub.pending.get(sub.lastSeq + 1);
      while (next) {
        sub.pending.delete(next.seq);
        this.deliver(sub, next);
        next = sub.pending.get(sub.lastSeq + 1);
      }
      for (const seq of sub.pending.keys()) if (seq <= sub.lastSeq) sub.pending.delete(seq);
      if (sub.pending.size === 0 && sub.gapTimer) {
        clearTimeout(sub.gapTimer);
        sub.gapTimer = null;
      }
      return;
    }
    if (sub.pending.has(event.seq)) {
      this.counters.duplicatesDropped++;
      return;
    }
    if (!fromReplay) this.counters.earlyArrivals++;
    if (sub.pending.size < this.options.maxBufferedEvents) sub.pending.set(event.seq, event);
    this.scheduleGapFill(sub);
  }

  private scheduleGapFill(sub: RunSub): void {
    if (sub.gapTimer || !sub.active) return;
    sub.gapTimer = setTimeout(() => {
      sub.gapTimer = null;
      if (sub.active && sub.pending.size > 0) {
        this.counters.gapFills++;
        this.sync(sub);
      }
    }, this.options.gapFillDelayMs);
  }

  /** (Re)subscribes with afterSeq = last delivered seq; one request per run at a time. */
  private sync(sub: RunSub): void {
    if (!sub.active) return;
    const socket = this.connection.socket;
    if (!socket || this.connection.state !== 'connected') return; // the connect handler syncs every run
    if (sub.inFlight) {
      sub.again = true;
      return;
    }
    sub.inFlight = true;
    this.counters.subscribeRequests++;
    sub.again = false;
    const generation = this.connection.generation;
    const req =
      sub.epoch > 0
        ? { runId: sub.runId, afterSeq: sub.lastSeq, epoch: sub.epoch }
        : { runId: sub.runId, afterSeq: sub.lastSeq };
    socket.timeout(this.options.requestTimeoutMs).emit('subscribe', req, (err: Error | null, res: SubscribeAck) => {
      if (generation !== this.connection.generation || !sub.active) return;
      sub.inFlight = false;
      if (err) {
        this.retryLater(sub);
        return;
      }
      if (!res.ok) {
        this.onSubscribeError(sub, res.error);
        return;
      }
      this.onSubscribeOk(sub, res);
    });
  }

  /** Subscribes again after `reconnectDelayMs`, or after the gateway's retry-after if that is longer. */
  private retryLater(sub: RunSub, minDelayMs = 0): void {
    if (sub.retryTimer) return;
    sub.retryTimer = setTimeout(
      () => {
        sub.retryTimer = null;
        this.sync(sub);
      },
      Math.max(this.options.reconnectDelayMs, minDelayMs),
    );
  }

  private onSubscribeError(sub: RunSub, wire: WireError): void {
    if (!FATAL_CODES.has(wire.code)) {
      // Rate limited, unavailable, internal: try again (not before a rate limit's window ends).
      this.retryLater(sub, retryAfterMs(wire, this.options.reconnectDelayMaxMs));
      return;
    }
    const error = toError(wire);
    this.stop(sub);
    this.subs.delete(sub.runId);
    if (!sub.isReady) sub.ready.reject(error);
    else sub.options.onError?.(error);
  }

  private onSubscribeOk(sub: RunSub, ack: SubscribeOk): void {
    const info: SubscriptionInfo = {
      runId: sub.runId,
      epoch: ack.epoch,
      headSeq: ack.headSeq,
      status: ack.status,
      recovered: ack.recovered,
    };
    if (!ack.recovered) {
      sub.ended = false;
      sub.pending.clear();
      const first = ack.events[0];
      sub.lastSeq = first ? first.seq - 1 : ack.headSeq;
      try {
        this.counters.resets++;
        sub.options.onReset?.(info);
      } catch {
        // app callback
      }
    }
    if (ack.epoch > 0) sub.epoch = ack.epoch;
    this.counters.replayedEvents += ack.events.length;
    sub.lastActivityAt = Date.now();
    for (const event of ack.events) this.accept(sub, event, true);
    if (isTerminalRunStatus(ack.status) && !ack.hasMore && sub.lastSeq >= ack.headSeq) sub.ended = true;
    try {
      sub.options.onStatus?.(ack.status, info);
    } catch {
      // app callback
    }
    if (!sub.isReady) {
      sub.isReady = true;
      sub.ready.resolve(info);
    }
    if (ack.hasMore || sub.again) this.sync(sub);
    else if (sub.pending.size > 0) this.scheduleGapFill(sub);
  }

  private stop(sub: RunSub): void {
    sub.active = false;
    if (sub.gapTimer) clearTimeout(sub.gapTimer);
    if (sub.retryTimer) clearTimeout(sub.retryTimer);
    sub.gapTimer = null;
    sub.retryTimer = null;
    sub.pending.clear();
  }

  private async unsubscribe(sub: RunSub): Promise<void> {
    if (!sub.active) return;
    this.stop(sub);
    if (this.subs.get(sub.runId) === sub) this.subs.delete(sub.runId);
    if (this.connection.state !== 'connected') return;
    await this.connection.request<SimpleAck>('unsubscribe', { runId: sub.runId }).catch(() => undefined);
  }
}

/**
 * Connects to one gateway URL or a list of them (on a dead gateway the client moves to the next one).
 * Returns at once; the connection is made in the background (see {@link BridgeClient.waitConnected}).
 */
export function connect(urlOrUrls: string | readonly string[], options: ConnectOptions): BridgeClient {
  const urls = typeof urlOrUrls === 'string' ? [urlOrUrls] : urlOrUrls;
  return new BridgeClient(urls, options);
}
