import {
  AgentBridgeError,
  type ClientToServerEvents,
  ErrorCode,
  type EventEnvelope,
  type ReauthAck,
  type ServerToClientEvents,
  type WireError,
} from '@agent-bridge/protocol';
import { type Socket, io } from 'socket.io-client';
import { retryAfterMs } from './retry-after';
import { type ClientStats, type ConnectOptions, type ConnectionState } from './types';

/** {@link ConnectOptions} with every default filled in. */
export type ResolvedConnectOptions = Required<Omit<ConnectOptions, 'extraHeaders'>> &
  Pick<ConnectOptions, 'extraHeaders'>;

export type BridgeSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** What the connection tells the client that owns it. */
interface ConnectionHandlers {
  /** A socket connected (the first time or after a reconnect): every run must be (re)subscribed. */
  onConnect(): void;
  /** A live `agent_event` arrived on the current socket. */
  onEvent(event: EventEnvelope): void;
}

/**
 * The socket to one gateway of a list, replaced on every drop or refusal by a socket to the next one
 * after an exponential, jittered backoff (never sooner than a gateway's retry-after). Each socket has a
 * generation: a callback of a socket that was replaced sees a newer generation and does nothing.
 */
export class GatewayConnection {
  private current: BridgeSocket | null = null;
  private generationValue = 0;
  private urlIndex = 0;
  private attempts = 0;
  private stateValue: ConnectionState = 'connecting';
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly stateListeners = new Set<(state: ConnectionState, detail?: unknown) => void>();

  constructor(
    private readonly urls: readonly string[],
    private readonly options: ResolvedConnectOptions,
    private readonly counters: ClientStats,
    private readonly handlers: ConnectionHandlers,
  ) {}

  get state(): ConnectionState {
    return this.stateValue;
  }

  get url(): string {
    return this.urls[this.urlIndex] as string;
  }

  /** The socket in use, null while (re)connecting. */
  get socket(): BridgeSocket | null {
    return this.current;
  }

  /** Changes with every socket: a callback compares it to the value it captured to know it is stale. */
  get generation(): number {
    return this.generationValue;
  }

  onState(listener: (state: ConnectionState, detail?: unknown) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Resolves once connected (rejects when unauthorized or closed, or after `timeoutMs`). */
  waitConnected(timeoutMs: number): Promise<void> {
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

  /** Sends a request and waits for its ack (after waiting to be connected). */
  async request<T>(event: 'start_run' | 'cancel_run' | 'unsubscribe', payload: unknown): Promise<T> {
    await this.waitConnected(this.options.requestTimeoutMs);
    const socket = this.current;
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

  /** Disconnects for good. Idempotent. */
  close(): void {
    if (this.stateValue === 'closed') return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.dropSocket();
    this.setState('closed');
  }

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
    const s = this.current;
    this.current = null;
    this.generationValue++;
    if (s) {
      s.removeAllListeners();
      s.io.removeAllListeners();
      s.disconnect();
    }
  }

  /** Opens a socket to the current URL (replacing any previous one). */
  open(): void {
    this.dropSocket();
    const generation = this.generationValue;
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
    this.current = socket;
    socket.on('connect', () => {
      if (generation !== this.generationValue) return;
      this.attempts = 0;
      this.counters.connects++;
      this.setState('connected');
      this.handlers.onConnect();
    });
    socket.on('agent_event', (event) => {
      if (generation !== this.generationValue) return;
      this.counters.liveEvents++;
      this.handlers.onEvent(event);
    });
    socket.on('token_expiring', () => {
      if (generation !== this.generationValue || typeof token === 'string') return;
      // Renew on this connection; if that fails, the gateway closes it at expiry and the reconnect asks
      // the provider again.
      void Promise.resolve()
        .then(token)
        .then((fresh) => socket.timeout(this.options.requestTimeoutMs).emitWithAck('reauth', { token: fresh }))
        .then(
          // socket.io's types lose the ack's type through `timeout()` + `emitWithAck` (it comes back `any`):
          // the event map says the gateway answers `reauth` with a ReauthAck.
          (res: ReauthAck) => {
            if (res.ok && generation === this.generationValue) this.counters.reauths++;
          },
          () => undefined,
        );
    });
    socket.on('connect_error', (err: Error & { data?: Partial<WireError> }) => {
      if (generation !== this.generationValue) return;
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
      if (generation !== this.generationValue) return;
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
}
