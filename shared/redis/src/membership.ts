import { hostname } from 'node:os';
import type { KeyLayout, MemberRecord } from '@agent-bridge/protocol';
import type { Logger } from '@agent-bridge/telemetry';
import type { RedisConnection } from './connections';

/** The roles that keep membership records. */
export type MemberRole = 'bridge' | 'gateway';

/** Options of a {@link MemberHeartbeat}. */
export interface MemberHeartbeatOptions {
  /** Data Redis; the heartbeat never closes it. */
  connection: RedisConnection;
  keys: KeyLayout;
  role: MemberRole;
  /** Unique id of this process (config `instanceId`). */
  id: string;
  /** How often the record is refreshed. */
  intervalMs: number;
  /** A member not refreshed for this long counts as dead (must exceed `intervalMs`). */
  ttlMs: number;
  /** Extra data stored in the record on each beat (gateway: sockets; bridge: workers running). @defaultValue `{}` */
  info?: () => Record<string, unknown>;
  /** @defaultValue no logging */
  logger?: Logger;
}

type HeartbeatState = 'idle' | 'running' | 'closed';

/**
 * Keeps this process's membership record alive: every `intervalMs` it writes its {@link MemberRecord} into
 * `keys.memberRecords(role)` and its expiry (now + ttlMs, ms) as the score in the sorted set
 * `keys.members(role)`, in one MULTI (both keys share the `{cluster}` hash tag). A beat that fails is
 * logged and retried on the next tick; the member simply looks dead to others if beats keep failing.
 *
 * Liveness is judged with the clock of the process that reads (scores are wall-clock ms), so hosts need
 * roughly synchronised clocks (NTP); keep `ttlMs` a few intervals long.
 */
export class MemberHeartbeat {
  private state: HeartbeatState = 'idle';
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private readonly startedAt = Date.now();
  private readonly info: () => Record<string, unknown>;

  constructor(private readonly options: MemberHeartbeatOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError('intervalMs must be > 0');
    if (!(options.ttlMs > options.intervalMs)) throw new RangeError('ttlMs must be greater than intervalMs');
    if (options.id.length === 0) throw new RangeError('id must not be empty');
    this.info = options.info ?? (() => ({}));
  }

  /** Writes the first beat (resolves once it is stored), then keeps beating. Idempotent. */
  async start(): Promise<void> {
    if (this.state === 'closed') throw new Error('MemberHeartbeat is closed');
    if (this.state === 'running') return this.inFlight;
    this.state = 'running';
    this.inFlight = this.beat();
    await this.inFlight;
    this.schedule();
  }

  /** Writes a beat now (e.g. right after `info` changed). */
  async beatNow(): Promise<void> {
    if (this.state !== 'running') return;
    await this.inFlight.catch(() => undefined);
    this.inFlight = this.beat().catch((err: unknown) => {
      this.options.logger?.warn({ err, role: this.options.role }, 'membership heartbeat failed');
    });
    await this.inFlight;
  }

  /** Stops beating and removes this member's record. Idempotent; never throws. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const wasRunning = this.state === 'running';
      this.state = 'closed';
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await this.inFlight.catch(() => undefined);
      if (!wasRunning) return;
      const { connection, keys, role, id } = this.options;
      try {
        await connection.multi().zrem(keys.members(role), id).hdel(keys.memberRecords(role), id).exec();
      } catch (err) {
        this.options.logger?.warn({ err, role }, 'could not remove membership record');
      }
    })();
    return this.closing;
  }

  private schedule(): void {
    if (this.state !== 'running') return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state !== 'running') return;
      this.inFlight = this.beat()
        .catch((err: unknown) => {
          this.options.logger?.warn({ err, role: this.options.role }, 'membership heartbeat failed');
        })
        .finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const { connection, keys, role, id, ttlMs } = this.options;
    const now = Date.now();
    const record: MemberRecord = {
      id,
      role,
      host: hostname(),
      pid: process.pid,
      startedAt: this.startedAt,
      lastSeen: now,
      info: this.info(),
    };
    const res = await connection
      .multi()
      .zadd(keys.members(role), now + ttlMs, id)
      .hset(keys.memberRecords(role), id, JSON.stringify(record))
      .exec();
    const failed = res?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }
}
