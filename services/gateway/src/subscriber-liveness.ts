import type { Logger } from '@agent-bridge/telemetry';
import type { Redis } from 'ioredis';

/** Options of a {@link SubscriberLiveness}. */
export interface SubscriberLivenessOptions {
  /**
   * The Pub/Sub connections to watch, asked on every check: the one subscriber connection of a standalone or
   * Sentinel client, or on a Cluster the subscriber connections of its masters (`SubscriptionLinks`).
   */
  connections: () => readonly Redis[];
  /** How often a PING is sent on each connection. @defaultValue 1000 */
  intervalMs?: number;
  /**
   * A PING unanswered this long, or a connection that has been connecting (TCP up, handshake not done)
   * this long, is a stalled link. @defaultValue 2000
   */
  timeoutMs?: number;
  /** Called when a stall is detected, just before the connection is torn down (so ioredis reconnects). */
  onStall?: (detail: { waitedMs: number; phase: 'ping' | 'handshake' }) => void;
  logger: Logger;
}

/** What {@link SubscriberLiveness.getStatus} reports. */
export interface SubscriberLivenessStatus {
  /** Epoch ms of the last PING answer on any connection (null before the first). */
  lastPongAt: number | null;
  /** Stalls detected since start. */
  stalls: number;
}

/** The check's state for one connection. */
interface Probe {
  pingSentAt: number | null;
  connectingSince: number | null;
}

/**
 * Detects a stalled Pub/Sub link: a connection that still looks open but no longer carries anything (a
 * half-open TCP connection after a NAT or firewall dropped its state, a frozen proxy). A closed link is
 * noticed by ioredis itself; a stalled one is not, and the messages published meanwhile are lost without a
 * trace. Every `intervalMs` a PING goes out on each subscriber connection (valid in subscribed mode); when it
 * is unanswered after `timeoutMs`, or a reconnect hangs in its handshake that long, the socket is destroyed,
 * so ioredis reconnects and resubscribes (on a Cluster: replaces that master's subscriber connection), and
 * the owner learns through `onStall` (the gateway then catches its rooms up from history). A stall is thus
 * detected within `intervalMs + timeoutMs`.
 *
 * Cost: one PING per interval per subscriber connection (on a Cluster one per master with rooms); never
 * more than one outstanding per connection.
 */
export class SubscriberLiveness {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly probes = new Map<Redis, Probe>();
  private lastPongAt: number | null = null;
  private stalls = 0;
  private closed = false;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: SubscriberLivenessOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.timeoutMs = options.timeoutMs ?? 2_000;
    if (!(this.intervalMs > 0) || !(this.timeoutMs > 0)) throw new RangeError('intervalMs and timeoutMs must be > 0');
  }

  /** Starts the periodic check. Idempotent. */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops checking. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.probes.clear();
  }

  getStatus(): SubscriberLivenessStatus {
    return { lastPongAt: this.lastPongAt, stalls: this.stalls };
  }

  private tick(): void {
    const conns = new Set(this.options.connections());
    // A replaced connection (a Cluster's new subscriber for a master) starts with a fresh probe.
    for (const conn of this.probes.keys()) if (!conns.has(conn)) this.probes.delete(conn);
    for (const conn of conns) {
      let probe = this.probes.get(conn);
      if (!probe) this.probes.set(conn, (probe = { pingSentAt: null, connectingSince: null }));
      this.check(conn, probe);
    }
  }

  private check(conn: Redis, probe: Probe): void {
    const now = Date.now();
    if (conn.status === 'connect' || conn.status === 'connecting') {
      // TCP is (being) set up; ioredis's connectTimeout covers the TCP connect only, not a handshake that
      // never gets an answer.
      probe.connectingSince ??= now;
      if (now - probe.connectingSince >= this.timeoutMs + this.intervalMs)
        this.stall(conn, probe, now - probe.connectingSince, 'handshake');
      return;
    }
    probe.connectingSince = null;
    if (conn.status !== 'ready') {
      probe.pingSentAt = null; // reconnecting or closed: ioredis is on it
      return;
    }
    if (probe.pingSentAt !== null) {
      const waited = now - probe.pingSentAt;
      if (waited >= this.timeoutMs) this.stall(conn, probe, waited, 'ping');
      return;
    }
    const sentAt = now;
    probe.pingSentAt = sentAt;
    conn.ping().then(
      () => {
        if (probe.pingSentAt !== sentAt) return;
        probe.pingSentAt = null;
        this.lastPongAt = Date.now();
      },
      () => {
        // Failed (connection closed under it): the next tick looks again.
        if (probe.pingSentAt === sentAt) probe.pingSentAt = null;
      },
    );
  }

  private stall(conn: Redis, probe: Probe, waitedMs: number, phase: 'ping' | 'handshake'): void {
    this.stalls++;
    probe.pingSentAt = null;
    probe.connectingSince = null;
    const { connectionName: link, host, port } = conn.options;
    this.options.logger.warn(
      { waitedMs, phase, link, node: `${host ?? '?'}:${port ?? '?'}` },
      'adapter subscriber link stalled: reconnecting it',
    );
    try {
      this.options.onStall?.({ waitedMs, phase });
    } catch (err) {
      this.options.logger.error({ err }, 'stall handler failed');
    }
    // Destroying the socket (not QUIT, which a stalled link never delivers) makes ioredis see a lost
    // connection: it reconnects with its retry strategy and resubscribes every channel and pattern.
    // Typed as always there, but ioredis sets it only once a connect attempt got that far.
    const stream = conn.stream as typeof conn.stream | undefined;
    if (stream) stream.destroy();
  }
}
