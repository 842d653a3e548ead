import {
  type CheckResult,
  type HealthStatus,
  IllegalStateError,
  type IntegrationResult,
  IntegrationState,
  type KeyLayout,
  type PublishedState,
  type StateTransition,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { Cluster } from 'ioredis';
import { parseJson } from './json';

/** One outcome of a recovery job attempt, as kept in `keys.recoveryLog` (newest first). */
export interface RecoveryLogEntry {
  incidentId: string;
  jobId: string;
  attempt: number;
  outcome: 'recovered' | 'still-failing' | 'gave-up';
  state: IntegrationState;
  leaderId: string;
  epoch: number;
  at: number;
  failingChecks: CheckResult[];
}

/** An ensureIntegration result as published (with the attempt that produced it). */
export interface PublishedResult extends IntegrationResult {
  at: number;
}

/** The state before any leader published one. */
function initialState(): PublishedState {
  return {
    state: IntegrationState.Uninitialized,
    leaderId: '',
    epoch: 0,
    since: 0,
    reason: 'never initialised',
    failingChecks: [],
  };
}

/**
 * A new connection like `conn`. The two branches read the same but are not: ioredis types `duplicate` of
 * `Redis` and of `Cluster` with incompatible generic signatures, so the union cannot call it unnarrowed.
 */
function duplicate(conn: RedisConnection): RedisConnection {
  return conn instanceof Cluster ? conn.duplicate() : conn.duplicate();
}

/** Options of {@link IntegrationStateReader}. */
export interface IntegrationStateReaderOptions {
  /** Data Redis (command role); never closed by the reader. */
  connection: RedisConnection;
  keys: KeyLayout;
  /**
   * Connection to SUBSCRIBE on for `watch()`; never closed by the reader. When omitted, `watch()` opens
   * its own (a duplicate of `connection`) and `close()` closes it.
   */
  subscriber?: RedisConnection;
}

/**
 * Read side of the published integration lifecycle, for any replica or tool (ops, CLI): the current
 * state, the transition history, the latest health and ensure result, recovery outcomes, and a watch on
 * transitions. Read-only; needs no leadership. Unreadable records are skipped, never thrown.
 */
export class IntegrationStateReader {
  private ownSubscriber: RedisConnection | null = null;
  private readonly watchers = new Set<(t: StateTransition) => void>();
  private subscribed: Promise<void> | null = null;
  private closed = false;
  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.options.keys.integrationChannel) return;
    const t = parseJson(message) as StateTransition | null;
    if (!t) return;
    for (const w of this.watchers) w(t);
  };

  constructor(private readonly options: IntegrationStateReaderOptions) {}

  /** The published state, or null when no leader published one yet. */
  async published(): Promise<PublishedState | null> {
    return parseJson(await this.options.connection.get(this.options.keys.integrationState)) as PublishedState | null;
  }

  /** The current published state (UNINITIALIZED, epoch 0, when none was published yet). */
  async current(): Promise<PublishedState> {
    return (await this.published()) ?? initialState();
  }

  /** The latest `limit` transitions, newest first. */
  async history(limit = 50): Promise<StateTransition[]> {
    return this.list<StateTransition>(this.options.keys.integrationHistory, limit);
  }

  /** The latest health check the leader published, or null. */
  async latestHealth(): Promise<HealthStatus | null> {
    return parseJson(await this.options.connection.get(this.options.keys.integrationHealth)) as HealthStatus | null;
  }

  /** The latest ensureIntegration result the leader published, or null. */
  async latestResult(): Promise<PublishedResult | null> {
    return parseJson(await this.options.connection.get(this.options.keys.integrationResult)) as PublishedResult | null;
  }

  /** The latest `limit` recovery outcomes, newest first. */
  async recoveries(limit = 50): Promise<RecoveryLogEntry[]> {
    return this.list<RecoveryLogEntry>(this.options.keys.recoveryLog, limit);
  }

  /**
   * Calls `cb` with every transition published from now on; resolves once subscribed. Returns an
   * unsubscribe function.
   */
  async watch(cb: (transition: StateTransition) => void): Promise<() => void> {
    if (this.closed) throw new IllegalStateError('closed', 'watch');
    this.watchers.add(cb);
    this.subscribed ??= (async () => {
      const sub = this.options.subscriber ?? (this.ownSubscriber = duplicate(this.options.connection));
      sub.on('message', this.onMessage);
      await sub.subscribe(this.options.keys.integrationChannel);
    })();
    await this.subscribed;
    return () => this.watchers.delete(cb);
  }

  /** Stops watching; closes the subscriber only if the reader opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watchers.clear();
    const sub = this.options.subscriber ?? this.ownSubscriber;
    if (this.subscribed && sub) {
      await this.subscribed.catch(() => undefined);
      sub.off('message', this.onMessage);
      if (this.ownSubscriber) {
        this.ownSubscriber.disconnect();
        this.ownSubscriber = null;
      } else {
        await sub.unsubscribe(this.options.keys.integrationChannel).catch(() => undefined);
      }
    }
  }

  /** The first `limit` (at least one) readable JSON entries of a list, newest first. */
  private async list<T>(key: string, limit: number): Promise<T[]> {
    const raws = await this.options.connection.lrange(key, 0, Math.max(1, limit) - 1);
    return raws.map((r) => parseJson(r) as T | null).filter((t): t is T => t !== null);
  }
}
