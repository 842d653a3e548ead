import type { RedisConnection } from '@agent-bridge/redis';
import Redlock, { ExecutionError, type ExecutionStats, type Lock, ResourceLockedError } from 'redlock';

/** A held lease. `expiresAt` is this process's conservative view of its validity (drift subtracted). */
export interface Lease {
  readonly resource: string;
  readonly token: string;
  readonly expiresAt: number;
}

/** Why a lease operation did not succeed. */
export interface LeaseFailure {
  ok: false;
  /** `held`: another holder has it. `lost`: ours is gone or expired. `unavailable`: no quorum of masters answered. */
  reason: 'held' | 'lost' | 'unavailable';
  detail: string;
}

export type LeaseResult = { ok: true; lease: Lease } | LeaseFailure;

/**
 * The small leasing interface the elector needs; the Redlock implementation is {@link RedlockLeaseClient}.
 * Every call is a single attempt (the caller owns retries and their timing) and never throws for an
 * expected outcome.
 */
export interface LeaseClient {
  /** Whether the lease lives in the data Redis (then the epoch script also checks the lease key). */
  readonly sharesDataRedis: boolean;
  acquire(resource: string, ttlMs: number): Promise<LeaseResult>;
  extend(lease: Lease, ttlMs: number): Promise<LeaseResult>;
  /** Best effort; true when a quorum released it. */
  release(lease: Lease): Promise<boolean>;
}

export interface RedlockLeaseClientOptions {
  /** One connection per independent master (or a single one). Never closed by the client. */
  clients: RedisConnection[];
  /** @defaultValue 0.01 */
  driftFactor?: number;
  /** The lease lives in the data Redis. @defaultValue false */
  sharesDataRedis?: boolean;
}

/**
 * {@link LeaseClient} over `redlock@5.0.0-beta.2` (see docs/decisions/0001-redlock.md). Uses only
 * `acquire`/`extend`/`release` with `retryCount: 0` — never `using()`, whose automatic extension computes
 * expiry from the first attempt (upstream #168) — so `expiresAt` is measured from the one attempt made.
 */
export class RedlockLeaseClient implements LeaseClient {
  readonly sharesDataRedis: boolean;
  private readonly redlock: Redlock;
  private readonly locks = new Map<string, Lock>();

  constructor(options: RedlockLeaseClientOptions) {
    if (options.clients.length === 0) throw new RangeError('at least one lock client is required');
    this.sharesDataRedis = options.sharesDataRedis ?? false;
    this.redlock = new Redlock(options.clients, {
      driftFactor: options.driftFactor ?? 0.01,
      retryCount: 0,
      retryDelay: 0,
      retryJitter: 0,
      automaticExtensionThreshold: 0,
    });
    // Redlock emits 'error' for every failed vote; without a listener EventEmitter would throw.
    this.redlock.on('error', () => undefined);
  }

  async acquire(resource: string, ttlMs: number): Promise<LeaseResult> {
    try {
      const lock = await this.redlock.acquire([resource], ttlMs);
      this.locks.set(lock.value, lock);
      return { ok: true, lease: { resource, token: lock.value, expiresAt: lock.expiration } };
    } catch (err) {
      return describeFailure(err, 'held', 2_000);
    }
  }

  async extend(lease: Lease, ttlMs: number): Promise<LeaseResult> {
    const lock = this.locks.get(lease.token);
    if (!lock || lease.expiresAt <= Date.now()) {
      this.locks.delete(lease.token);
      return { ok: false, reason: 'lost', detail: 'lease already expired before extension' };
    }
    try {
      const next = await this.redlock.extend(lock, ttlMs);
      this.locks.set(lease.token, next);
      return { ok: true, lease: { resource: lease.resource, token: next.value, expiresAt: next.expiration } };
    } catch (err) {
      this.locks.delete(lease.token);
      // A leader must not linger: wait only briefly for the slowest master's vote.
      return describeFailure(err, 'lost', 250);
    }
  }

  async release(lease: Lease): Promise<boolean> {
    const lock = this.locks.get(lease.token);
    this.locks.delete(lease.token);
    if (!lock) return false;
    try {
      // Release even an expired lock: the keys are deleted only where they still hold our token.
      lock.expiration = Math.max(lock.expiration, Date.now() + 1);
      await this.redlock.release(lock);
      return true;
    } catch {
      return false;
    }
  }
}

/** Turns a Redlock failure into a typed result: held by someone else, or not enough masters answering. */
async function describeFailure(err: unknown, contended: 'held' | 'lost', waitMs: number): Promise<LeaseFailure> {
  if (!(err instanceof ExecutionError)) {
    return { ok: false, reason: 'unavailable', detail: err instanceof Error ? err.message : String(err) };
  }
  const stats = await firstStats(err.attempts, waitMs);
  if (!stats) return { ok: false, reason: contended, detail: err.message };
  const errors = [...stats.votesAgainst.values()];
  const locked = errors.filter((e) => e instanceof ResourceLockedError).length;
  const unreachable = errors.length - locked;
  const detail =
    `${stats.votesFor.size}/${stats.membershipSize} lock masters agreed (quorum ${stats.quorumSize}); ` +
    `${locked} held by another replica, ${unreachable} unreachable` +
    (unreachable > 0 ? `: ${firstMessage(errors.filter((e) => !(e instanceof ResourceLockedError)))}` : '');
  // No quorum can agree while too many masters are down, whoever holds the lease.
  const reason = stats.membershipSize - unreachable < stats.quorumSize ? 'unavailable' : contended;
  return { ok: false, reason, detail };
}

async function firstStats(
  attempts: ReadonlyArray<Promise<ExecutionStats>>,
  waitMs: number,
): Promise<ExecutionStats | null> {
  const first = attempts[0];
  if (!first) return null;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Stats resolve once every master answered; a hung master is bounded by the command timeout.
    return await Promise.race([
      first,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), waitMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function firstMessage(errors: Error[]): string {
  const e = errors[0];
  return e ? e.message.slice(0, 200) : '';
}
