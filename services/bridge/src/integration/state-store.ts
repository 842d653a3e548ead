import type { PublishedResult, RecoveryLogEntry } from '@agent-bridge/control-plane';
import {
  type CheckResult,
  type HealthStatus,
  IllegalStateError,
  type IntegrationState,
  type KeyLayout,
  type PublishedState,
  type StateTransition,
  isLegalTransition,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { FencingStore, fenced } from '../leader/fencing';
import { bridgeScript, runScript } from '../leader/scripts';

/** Outcome of {@link IntegrationStateStore.transitionWithoutLeader}. */
export type LeaderlessOutcome =
  | { done: true; transition: StateTransition }
  | { done: false; why: 'leader-exists' | 'state-changed' | 'replicas-alive' };

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
