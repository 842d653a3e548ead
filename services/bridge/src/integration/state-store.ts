import {
  type CheckResult,
  type HealthStatus,
  IllegalStateError,
  type IntegrationResult,
  IntegrationState,
  type KeyLayout,
  type PublishedState,
  type StateTransition,
  isLegalTransition,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { Cluster } from 'ioredis';
import { FencingStore, fenced } from '../leader/fencing';
import { bridgeScript, runScript } from '../leader/scripts';

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

/** Outcome of {@link IntegrationStateStore.transitionWithoutLeader}. */
export type LeaderlessOutcome =
  | { done: true; transition: StateTransition }
  | { done: false; why: 'leader-exists' | 'state-changed' | 'replicas-alive' };

/** An ensureIntegration result as published (with the attempt that produced it). */
export interface PublishedResult extends IntegrationResult {
  at: number;
}

/** The state before any leader published one. */
export function initialState(): PublishedState {
  return {
    state: IntegrationState.Uninitialized,
    leaderId: '',
    epoch: 0,
    since: 0,
    reason: 'never initialised',
    failingChecks: [],
  };
}

function duplicate(conn: RedisConnection): RedisConnection {
  return conn instanceof Cluster ? conn.duplicate() : conn.duplicate();
}

function parse<T>(raw: string | null): T | null {
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

/**
 * Leader-side writes of the integration lifecycle, each fenced on the writer's epoch (FencedError for a
 * stale leader): transitions (current value + capped history + notification, one Lua script), the latest
 * health, the latest ensure result, and the recovery log. Never closes its connection.
 */
export class IntegrationStateStore {
  private readonly fencing: FencingStore;

  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: KeyLayout,
    private readonly historyLength: number,
  ) {
    this.fencing = new FencingStore(conn, keys);
  }

  /**
   * Moves the state from `from` to `to` for `epoch`. Same-state calls are not transitions (returns null).
   * @throws IllegalStateError for a transition the state machine does not allow, or when the stored state
   *   is not `from` (a concurrent writer); FencedError for a stale epoch.
   */
  async transition(
    epoch: number,
    leaderId: string,
    from: IntegrationState,
    to: IntegrationState,
    reason: string,
    failingChecks: CheckResult[],
  ): Promise<StateTransition | null> {
    if (from === to) return null;
    if (!isLegalTransition(from, to)) throw new IllegalStateError(from, `transition to ${to}`);
    const at = Date.now();
    const record: StateTransition = { from, to, leaderId, epoch, at, reason, failingChecks };
    const state: PublishedState = { state: to, leaderId, epoch, since: at, reason, failingChecks };
    const res = await this.writeTransition('epoch', epoch, from, state, record);
    const code = Number(res[0]);
    if (code === 0) throw fenced(epoch, res[1]);
    if (code === -1) throw new IllegalStateError(String(res[1]), `transition from ${from} to ${to}`);
    return record;
  }

  /**
   * A transition written while no leader exists (`lua/transition-state-5.lua`): only while there is no
   * leader record (`no-leader`), or also no live bridge replica (`no-members`), and only from `current`.
   * The record keeps `current.epoch` (epochs in the history never decrease) and names no leader. Used for
   * FAILED when nobody could lead for too long, and UNINITIALIZED when the last replica stops.
   * @throws IllegalStateError for a transition the state machine does not allow.
   */
  async transitionWithoutLeader(
    condition: 'no-leader' | 'no-members',
    current: PublishedState,
    to: IntegrationState,
    reason: string,
    failingChecks: CheckResult[],
  ): Promise<LeaderlessOutcome> {
    const from = current.state;
    if (!isLegalTransition(from, to)) throw new IllegalStateError(from, `transition to ${to}`);
    const at = Date.now();
    const epoch = current.epoch;
    const transition: StateTransition = { from, to, leaderId: '', epoch, at, reason, failingChecks };
    const state: PublishedState = { state: to, leaderId: '', epoch, since: at, reason, failingChecks };
    const res = await this.writeTransition(condition, at, from, state, transition);
    const code = Number(res[0]);
    if (code === 1) return { done: true, transition };
    return { done: false, why: code === 0 ? 'leader-exists' : code === -1 ? 'state-changed' : 'replicas-alive' };
  }

  /** One transition through `lua/transition-state-5.lua` under `guard` (see the script's header). */
  private async writeTransition(
    guard: 'epoch' | 'no-leader' | 'no-members',
    guardArg: number,
    from: IntegrationState,
    state: PublishedState,
    transition: StateTransition,
  ): Promise<unknown[]> {
    const k = this.keys;
    return (await runScript(
      this.conn,
      bridgeScript('transition-state-5.lua'),
      [k.leader, k.leaderEpoch, k.members('bridge'), k.integrationState, k.integrationHistory],
      [
        guard,
        guardArg,
        from,
        JSON.stringify(state),
        JSON.stringify(transition),
        this.historyLength,
        k.integrationChannel,
      ],
    )) as unknown[];
  }

  /**
   * Rewrites the reason and failing checks of the current state without a transition (no history record,
   * `since` kept): the state stays, but why it is in that state changed. Fenced.
   */
  annotate(
    epoch: number,
    leaderId: string,
    current: PublishedState,
    reason: string,
    failingChecks: CheckResult[],
  ): Promise<void> {
    const next: PublishedState = { ...current, leaderId, epoch, reason, failingChecks };
    return this.fencing.write(epoch, { mode: 'set', key: this.keys.integrationState, value: JSON.stringify(next) });
  }

  /** Publishes the latest health check (fenced). */
  publishHealth(epoch: number, health: HealthStatus): Promise<void> {
    return this.fencing.write(epoch, { mode: 'set', key: this.keys.integrationHealth, value: JSON.stringify(health) });
  }

  /** Publishes an ensure result (fenced) and notifies waiters on the channel of the same name. */
  publishResult(epoch: number, result: PublishedResult): Promise<void> {
    const key = this.keys.integrationResult;
    return this.fencing.write(epoch, { mode: 'set', key, value: JSON.stringify(result) }, key);
  }

  /** Appends to the recovery log (fenced, capped at the history length). */
  logRecovery(epoch: number, entry: RecoveryLogEntry): Promise<void> {
    return this.fencing.write(epoch, {
      mode: 'lpush',
      key: this.keys.recoveryLog,
      value: JSON.stringify(entry),
      cap: this.historyLength,
    });
  }
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
 * transitions. Read-only; needs no leadership.
 */
export class IntegrationStateReader {
  private ownSubscriber: RedisConnection | null = null;
  private readonly watchers = new Set<(t: StateTransition) => void>();
  private subscribed: Promise<void> | null = null;
  private closed = false;
  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.options.keys.integrationChannel) return;
    const t = parse<StateTransition>(message);
    if (!t) return;
    for (const w of this.watchers) w(t);
  };

  constructor(private readonly options: IntegrationStateReaderOptions) {}

  /** The current published state ({@link initialState} when none was published yet). */
  async current(): Promise<PublishedState> {
    return (
      parse<PublishedState>(await this.options.connection.get(this.options.keys.integrationState)) ?? initialState()
    );
  }

  /** The latest `limit` transitions, newest first. */
  async history(limit = 50): Promise<StateTransition[]> {
    const raws = await this.options.connection.lrange(
      this.options.keys.integrationHistory,
      0,
      String(Math.max(0, limit - 1)),
    );
    return raws.map((r) => parse<StateTransition>(r)).filter((t): t is StateTransition => t !== null);
  }

  /** The latest health check the leader published, or null. */
  async latestHealth(): Promise<HealthStatus | null> {
    return parse<HealthStatus>(await this.options.connection.get(this.options.keys.integrationHealth));
  }

  /** The latest ensureIntegration result the leader published, or null. */
  async latestResult(): Promise<PublishedResult | null> {
    return parse<PublishedResult>(await this.options.connection.get(this.options.keys.integrationResult));
  }

  /** The latest `limit` recovery outcomes, newest first. */
  async recoveries(limit = 50): Promise<RecoveryLogEntry[]> {
    const raws = await this.options.connection.lrange(this.options.keys.recoveryLog, 0, String(Math.max(0, limit - 1)));
    return raws.map((r) => parse<RecoveryLogEntry>(r)).filter((t): t is RecoveryLogEntry => t !== null);
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
}
