import type { RedisConnection } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';
import { Redis } from 'ioredis';

/** Options of a {@link SubscriberLiveness}. */
export interface SubscriberLivenessOptions {
  /** The Pub/Sub connection to watch (a standalone or Sentinel client; a Cluster client is not watched). */
  connection: RedisConnection;
  /** How often a PING is sent on the connection. @defaultValue 1000 */
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
  /** Epoch ms of the last PING answer (null before the first). */
  lastPongAt: number | null;
  /** Stalls detected since start. */
  stalls: number;
}

/**
 * Detects a stalled Pub/Sub link: a connection that still looks open but no longer carries anything (a
 * half-open TCP connection after a NAT or firewall dropped its state, a frozen proxy). A closed link is
 * noticed by ioredis itself; a stalled one is not, and the messages published meanwhile are lost without a
 * trace. Every `intervalMs` a PING goes out on the subscriber connection (valid in subscribed mode); when it
 * is unanswered after `timeoutMs`, or a reconnect hangs in its handshake that long, the socket is destroyed,
 * so ioredis reconnects and resubscribes, and the owner learns through `onStall` (the gateway then catches
 * its rooms up from history). A stall is thus detected within `intervalMs + timeoutMs`.
 *
 * Cost: one PING per interval on the subscriber connection; never more than one outstanding.
 */
export class SubscriberLiveness {
  private timer: ReturnType<typeof setInterval> | null = null;
  private pingSentAt: number | null = null;
  private connectingSince: number | null = null;
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

  /** Starts the periodic check. Idempotent; a no-op for a Cluster client. */
  start(): void {
    if (this.timer || this.closed || !(this.options.connection instanceof Redis)) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops checking. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  getStatus(): SubscriberLivenessStatus {
    return { lastPongAt: this.lastPongAt, stalls: this.stalls };
  }

  private tick(): void {
    const conn = this.options.connection as Redis;
    const now = Date.now();
    if (conn.status === 'connect' || conn.status === 'connecting') {
      // TCP is (being) set up; ioredis's connectTimeout covers the TCP connect only, not a handshake that
      // never gets an answer.
      this.connectingSince ??= now;
      if (now - this.connectingSince >= this.timeoutMs + this.intervalMs)
        this.stall(conn, now - this.connectingSince, 'handshake');
      return;
    }
    this.connectingSince = null;
    if (conn.status !== 'ready') {
      this.pingSentAt = null; // reconnecting or closed: ioredis is on it
      return;
    }
    if (this.pingSentAt !== null) {
      const waited = now - this.pingSentAt;
      if (waited >= this.timeoutMs) this.stall(conn, waited, 'ping');
      return;
    }
    const sentAt = now;
    this.pingSentAt = sentAt;
    conn.ping().then(
      () => {
        if (this.pingSentAt !== sentAt) return;
        this.pingSentAt = null;
        this.lastPongAt = Date.now();
      },
      () => {
        // Failed (connection closed under it): the next tick looks again.
        if (this.pingSentAt === sentAt) this.pingSentAt = null;
      },
    );
  }

  private stall(conn: Redis, waitedMs: number, phase: 'ping' | 'handshake'): void {
    this.stalls++;
    this.pingSentAt = null;
    this.connectingSince = null;
    this.options.logger.warn({ waitedMs, phase }, 'adapter subscriber link stalled: reconnecting it');
    try {
      this.options.onStall?.({ waitedMs, phase });
    } catch (err) {
      this.options.logger.error({ err }, 'stall handler failed');
    }
    // Destroying the socket (not QUIT, which a stalled link never delivers) makes ioredis see a lost
    // connection: it reconnects with its retry strategy and resubscribes every channel and pattern.
    conn.stream?.destroy();
  }
}
