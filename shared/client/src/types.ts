import { type AgentBridgeError, type RunStatus } from '@agent-bridge/protocol';

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
