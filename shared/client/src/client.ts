import {
  AgentBridgeError,
  type ClientToServerEvents,
  ErrorCode,
  type EventEnvelope,
  type RunStatus,
  type ServerToClientEvents,
  type SimpleAck,
  type StartRunAck,
  type SubscribeAck,
  type SubscribeOk,
  TERMINAL_EVENT_TYPES,
  type WireError,
  isTerminalRunStatus,
} from '@agent-bridge/protocol';
import { type Socket, io } from 'socket.io-client';
import { HeadCheck } from './head-check';
import { retryAfterMs } from './retry-after';

/** Connection state of a {@link BridgeClient}. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'unauthorized' | 'closed';

/** Options of {@link connect}. */
export interface ConnectOptions {
  /**
   * JWT for the handshake, or a token provider: a function returning a fresh one, called on each (re)connect
   * and when the gateway says the current token expires soon (`token_expiring`), whose result is sent as
   * `reauth` so the connection stays open. A fixed string cannot be renewed: the gateway closes the
   * connection when it expires, and reconnecting with it fails (`unauthorized`).
   */
  token: string | (() => string | Promise<string>);
  /** Socket.IO transports. @defaultValue `['websocket']` */
  transports?: ('websocket' | 'polling' | 'webtransport')[];
  /** First reconnect delay after a failed attempt (the first retry after a drop is immediate). @defaultValue 100 */
  reconnectDelayMs?: number;
  /** Upper bound of the exponential reconnect delay. @defaultValue 3000 */
  reconnectDelayMaxMs?: number;
  /** Deadline of one request (subscribe, start_run, ...) on a connected socket. @defaultValue 10000 */
  requestTimeoutMs?: number;
  /** Handshake timeout of one connection attempt. @defaultValue 5000 */
  connectTimeoutMs?: number;
  /** Events held per run while an earlier seq is missing; beyond it they are dropped and re-read. @defaultValue 10000 */
  maxBufferedEvents?: number;
  /** How long a missing seq may be missing before the client asks the gateway for it. @defaultValue 300 */
  gapFillDelayMs?: number;
  /** Extra HTTP headers of the handshake (Node only; browsers ignore it). */
  extraHeaders?: Record<string, string>;
  /**
   * A subscribed run that has not ended and has been silent (no event, no ack) this long is re-subscribed
   * with `afterSeq`, so a hole that no later event reveals (a run's last events lost in transport) is
   * filled within about this bound plus a second. 0 turns it off. @defaultValue 5000
   */
  headCheckAfterMs?: number;
}

/** What a subscription learns from each subscribe acknowledgement. */
export interface SubscriptionInfo {
  runId: string;
  epoch: number;
  headSeq: number;
  status: RunStatus;
  recovered: boolean;
}

/** Counters of what the client absorbed to give the app its ordered, exactly-once view. */
export interface ClientStats {
  /** `agent_event` messages received live. */
  liveEvents: number;
  /** Events received in subscribe acks (replays, gap fills, pages). */
  replayedEvents: number;
  /** Events dropped because their seq was already delivered (replay/live overlap, duplicates). */
  duplicatesDropped: number;
  /** Live events that arrived ahead of a missing seq and were held back. */
  earlyArrivals: number;
  /** Subscribe requests sent (first subscribes, resubscribes after reconnects, gap fills, pages). */
  subscribeRequests: number;
  /** Gap fills: re-subscribes because a seq was still missing after `gapFillDelayMs`. */
  gapFills: number;
  /** Head checks: re-subscribes of an unfinished run that was silent for `headCheckAfterMs`. */
  headChecks: number;
  /** `recovered: false` acks (the app was told through `onReset`). */
  resets: number;
  /** Successful connections (the first one and every reconnect). */
  connects: number;
  /** Tokens renewed on a live connection (`reauth` accepted). */
  reauths: number;
  /** Connection attempts a gateway refused (`connect_error` with a code: limits, token). */
  refusedConnects: number;
}

/** Options of {@link BridgeClient.subscribe}. */
export interface SubscribeOptions {
  /** Last seq the app already has; delivery starts after it. @defaultValue 0 */
  afterSeq?: number;
  /** History epoch `afterSeq` refers to. @defaultValue unknown */
  epoch?: number;
  /** Run status from the registry, on every (re)subscribe. */
  onStatus?: (status: RunStatus, info: SubscriptionInfo) => void;
  /**
   * The run's history could not be continued without a gap (lost or trimmed): the app should drop what
   * it showed for this run; delivery restarts with the oldest event still in history.
   */
  onReset?: (info: SubscriptionInfo) => void;
  /** A subscription that was live failed for good (e.g. the run was deleted or access was revoked). */
  onError?: (error: AgentBridgeError) => void;
}

/** A live subscription to one run. */
export interface Subscription {
  readonly runId: string;
  /** Resolves after the first successful subscribe ack; rejects (FORBIDDEN, NOT_FOUND, ...) and ends the subscription. */
  readonly ready: Promise<SubscriptionInfo>;
  /** Highest seq delivered to `onEvent`. */
  readonly lastSeq: number;
  /** Stops delivery and tells the gateway. */
  unsubscribe(): Promise<void>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface RunSub {
  runId: string;
  onEvent: (event: EventEnvelope) => void;
  options: SubscribeOptions;
  lastSeq: number;
  epoch: number;
  pending: Map<number, EventEnvelope>;
  inFlight: boolean;
  again: boolean;
  gapTimer: ReturnType<typeof setTimeout> | null;
  retryTimer: ReturnType<typeof setTimeout> | null;
  ready: Deferred<SubscriptionInfo>;
  isReady: boolean;
  active: boolean;
  /** Epoch ms of the last event delivered or ack received (for the head check). */
  lastActivityAt: number;
  /** A terminal event was delivered, or an ack said the run ended and nothing after lastSeq exists. */
  ended: boolean;
}

type BridgeSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const FATAL_CODES: ReadonlySet<string> = new Set([
  ErrorCode.Forbidden,
  ErrorCode.NotFound,
  ErrorCode.InvalidRequest,
  ErrorCode.Unauthorized,
]);

function toError(wire: WireError): AgentBridgeError {
  return new AgentBridgeError(wire.code, wire.message, { details: wire.details });
}

/**
 * A connection to agent-bridge gateways. Guarantees, per subscribed run: `onEvent` is called in seq
 * order, each seq once, without gaps — across reconnects (to the next gateway URL when one dies), live
 * events that overtake each other and replay/live overlap. Missing seqs are fetched with
 * `subscribe { afterSeq }`; replays are paged. When the history cannot be continued (`recovered: false`)
 * the app is told through `onReset` and delivery restarts from the oldest event still in history.
 */
export class BridgeClient {
  private socket: BridgeSocket | null = null;
  private generation = 0;
  private urlIndex = 0;
  private attempts = 0;
  private stateValue: ConnectionState = 'connecting';
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
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
  private readonly stateListeners = new Set<(state: ConnectionState, detail?: unknown) => void>();
  private readonly options: Required<Omit<ConnectOptions, 'extraHeaders'>> & Pick<ConnectOptions, 'extraHeaders'>;
  private readonly headCheck: HeadCheck<RunSub>;

  constructor(
    private readonly urls: readonly string[],
    options: ConnectOptions,
  ) {
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
        sub.active && sub.isReady && !sub.ended && !sub.inFlight && this.stateValue === 'connected'
          ? sub.lastActivityAt
          : null,
      check: (sub) => {
        sub.lastActivityAt = Date.now();
        this.counters.headChecks++;
        this.sync(sub);
      },
    });
    this.headCheck.start();
    this.open();
  }

  /** Current connection state. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** URL of the gateway currently used (or being tried). */
  get url(): string {
    return this.urls[this.urlIndex] as string;
  }

  /** A snapshot of the client's counters (for monitoring and benchmarks). */
  stats(): ClientStats {
    return { ...this.counters };
  }

  /** Calls `listener` on every state change; returns a function that removes it. */
  onState(listener: (state: ConnectionState, detail?: unknown) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Resolves once connected (rejects when unauthorized or closed, or after `timeoutMs`). */
  waitConnected(timeoutMs = this.options.requestTimeoutMs): Promise<void> {
    if (this.stateValue === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new AgentBridgeError(ErrorCode.Timeout, `not connected after ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onState((state, detail) => {
        if (state === 'connected') {
          clearTimeout(timer);
          off();
          resolve();
        } else if (state === 'unauthorized' || state === 'closed') {
          clearTimeout(timer);
          off();
          reject(detail instanceof Error ? detail : new AgentBridgeError(ErrorCode.Unavailable, `client ${state}`));
        }
      });
    });
  }

  /**
   * Subscribes to a run: replays its history after `afterSeq`, then delivers live events, in order,
   * each seq once. Resubscribes automatically after reconnects.
   */
  subscribe(runId: string, onEvent: (event: EventEnvelope) => void, options: SubscribeOptions = {}): Subscription {
    if (this.stateValue === 'closed') throw new AgentBridgeError(ErrorCode.IllegalState, 'client is closed');
    if (this.subs.has(runId)) throw new AgentBridgeError(ErrorCode.InvalidRequest, `already subscribed to ${runId}`);
    const sub: RunSub = {
      runId,
      onEvent,
      options,
      lastSeq: options.afterSeq ?? 0,
      epoch: options.epoch ?? 0,
      pending: new Map(),
      inFlight: false,
      again: false,
      gapTimer: null,
      retryTimer: null,
      ready: deferred(),
      isReady: false,
      active: true,
      lastActivityAt: Date.now(),
      ended: false,
    };
    // An unobserved rejection of `ready` must not crash the app; callers that care await it.
    sub.ready.promise.catch(() => undefined);
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
    const res = await this.request<StartRunAck>('start_run', agent === undefined ? { prompt } : { prompt, agent });
    if (!res.ok) throw toError(res.error);
    return res.runId;
  }

  /** Asks the agent of one of the user's runs to stop. */
  async cancelRun(runId: string): Promise<void> {
    const res = await this.request<SimpleAck>('cancel_run', { runId });
    if (!res.ok) throw toError(res.error);
  }

  /** Disconnects and ends every subscription. Idempotent. */
  close(): void {
    if (this.stateValue === 'closed') return;
    for (const sub of this.subs.values()) this.stop(sub);
    this.subs.clear();
    this.headCheck.stop();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.dropSocket();
    this.setState('closed');
  }

  // --- connection ---------------------------------------------------------------------------------

  private setState(state: ConnectionState, detail?: unknown): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    for (const l of [...this.stateListeners]) {
      try {
        l(state, detail);
      } catch {
        // A listener's failure is the app's; it must not break the connection logic.
      }
    }
  }

  private dropSocket(): void {
    const s = this.socket;
    this.socket = null;
    this.generation++;
    if (s) {
      s.removeAllListeners();
      s.io.removeAllListeners();
      s.disconnect();
    }
  }

  private open(): void {
    this.dropSocket();
    const generation = this.generation;
    const token = this.options.token;
    const socket: BridgeSocket = io(this.url, {
      transports: this.options.transports,
      reconnection: false,
      forceNew: true,
      timeout: this.options.connectTimeoutMs,
      extraHeaders: this.options.extraHeaders,
      auth: (cb) => {
        if (typeof token === 'string') cb({ token });
        else
          void Promise.resolve()
            .then(token)
            .then(
              (t) => cb({ token: t }),
              () => cb({}),
            );
      },
    });
    this.socket = socket;
    socket.on('connect', () => {
      if (generation !== this.generation) return;
      this.attempts = 0;
      this.counters.connects++;
      this.setState('connected');
      for (const sub of this.subs.values()) {
        sub.inFlight = false;
        this.sync(sub);
      }
    });
    socket.on('agent_event', (event) => {
      if (generation !== this.generation) return;
      this.counters.liveEvents++;
      const sub = this.subs.get(event.runId);
      if (sub?.active) this.accept(sub, event);
    });
    socket.on('token_expiring', () => {
      if (generation !== this.generation || typeof token === 'string') return;
      // Renew on this connection; if that fails, the gateway closes it at expiry and the reconnect asks
      // the provider again.
      void Promise.resolve()
        .then(token)
        .then((fresh) => socket.timeout(this.options.requestTimeoutMs).emitWithAck('reauth', { token: fresh }))
        .then(
          (res) => {
            if (res.ok && generation === this.generation) this.counters.reauths++;
          },
          () => undefined,
        );
    });
    socket.on('connect_error', (err: Error & { data?: Partial<WireError> }) => {
      if (generation !== this.generation) return;
      if (err.data?.code !== undefined) this.counters.refusedConnects++;
      if (err.data?.code === ErrorCode.Unauthorized && typeof token === 'string') {
        // A fixed token that was refused will be refused by every gateway: stop and tell the app.
        this.dropSocket();
        this.setState('unauthorized', new AgentBridgeError(ErrorCode.Unauthorized, err.message));
        return;
      }
      this.scheduleReconnect(true, retryAfterMs(err.data, this.options.reconnectDelayMaxMs));
    });
    socket.on('disconnect', () => {
      if (generation !== this.generation) return;
      this.scheduleReconnect(false);
    });
  }

  /** Reconnects after the exponential backoff, and never sooner than `minDelayMs` (a gateway's retry-after). */
  private scheduleReconnect(failed: boolean, minDelayMs = 0): void {
    if (this.stateValue === 'closed' || this.reconnectTimer) return;
    this.dropSocket();
    this.setState('reconnecting');
    // A gateway that just died or refused us: try the next one.
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    const n = this.attempts++;
    const base =
      failed || n > 0 ? Math.min(this.options.reconnectDelayMs * 2 ** n, this.options.reconnectDelayMaxMs) : 0;
    const backoff = base === 0 ? 0 : base / 2 + Math.random() * (base / 2);
    // Past the hint, a little jitter: clients refused together must not all come back at the same instant.
    const delay =
      minDelayMs > 0 ? Math.max(backoff, minDelayMs + Math.random() * this.options.reconnectDelayMs) : backoff;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stateValue !== 'closed') this.open();
    }, delay);
  }

  private async request<T>(event: 'start_run' | 'cancel_run' | 'unsubscribe', payload: unknown): Promise<T> {
    await this.waitConnected();
    const socket = this.socket;
    if (!socket) throw new AgentBridgeError(ErrorCode.Unavailable, 'not connected');
    try {
      // Generic dispatch over the typed event map: the payload shapes are validated by the gateway.
      const untyped = socket as unknown as Socket;
      return (await untyped.timeout(this.options.requestTimeoutMs).emitWithAck(event, payload)) as T;
    } catch (cause) {
      throw new AgentBridgeError(ErrorCode.Timeout, `${event} got no answer in ${this.options.requestTimeoutMs} ms`, {
        cause,
      });
    }
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
    const socket = this.socket;
    if (!socket || this.stateValue !== 'connected') return; // the connect handler syncs every run
    if (sub.inFlight) {
      sub.again = true;
      return;
    }
    sub.inFlight = true;
    this.counters.subscribeRequests++;
    sub.again = false;
    const generation = this.generation;
    const req =
      sub.epoch > 0
        ? { runId: sub.runId, afterSeq: sub.lastSeq, epoch: sub.epoch }
        : { runId: sub.runId, afterSeq: sub.lastSeq };
    socket.timeout(this.options.requestTimeoutMs).emit('subscribe', req, (err: Error | null, res: SubscribeAck) => {
      if (generation !== this.generation || !sub.active) return;
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
    if (this.stateValue !== 'connected') return;
    await this.request<SimpleAck>('unsubscribe', { runId: sub.runId }).catch(() => undefined);
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
