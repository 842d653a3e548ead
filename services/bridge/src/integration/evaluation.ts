import type { AppConfig } from '@agent-bridge/config';
import type { RecoveryLogEntry } from '@agent-bridge/control-plane';
import { type CheckResult, IntegrationState, type PublishedState, isLegalTransition } from '@agent-bridge/protocol';
import { deriveState } from './checks';

/*
 * The rules of the integration lifecycle, as pure functions of what the leader read: which state a set of
 * checks leads to, when a left-over state is not to be trusted, which transitions reach a target, when
 * recovery is due and what a recovery attempt's outcome is. The leader-side driver (transitions.ts) reads
 * Redis, calls these, and writes what they decide; the table tests in evaluation.test.ts pin them down.
 */

/** Where a set of checks leads, with a note for the transition's reason (empty when there is nothing to add). */
export interface Evaluation {
  target: IntegrationState;
  note: string;
}

/**
 * The state the checks lead to. During a cold start (the state is INITIALIZING) anything short of ACTIVE
 * keeps it INITIALIZING until `startupGraceMs` after initialization began (`since`, so a leader change
 * does not restart the grace): gateways and replicas started alongside get time to register, and a normal
 * start goes UNINITIALIZED → INITIALIZING → ACTIVE only. After the grace the checks decide.
 */
export function evaluate(
  checks: readonly CheckResult[],
  current: Pick<PublishedState, 'state' | 'since'>,
  now: number,
  startupGraceMs: number,
): Evaluation {
  const target = deriveState(checks);
  if (target === IntegrationState.Active) return { target, note: '' };
  const left = current.since + startupGraceMs - now;
  if (current.state !== IntegrationState.Initializing || left <= 0) return { target, note: '' };
  return { target: IntegrationState.Initializing, note: ` (starting: ${left} ms of start-up grace left)` };
}

/**
 * The longest a claimed state can go unchecked across a leader failover: the old lease running out, the
 * leaderless bound, two health intervals and a probe. Anything older means the cluster was down.
 */
export function staleBoundMs(config: Pick<AppConfig, 'leader' | 'health'>): number {
  const { leader, health } = config;
  return leader.leaseTtlMs + leader.absentFailMs + 2 * health.intervalMs + health.probeTimeoutMs;
}

/**
 * How long nobody has checked a state that claims something (ACTIVE, DEGRADED, FAILED), when that is longer
 * than `boundMs` ({@link staleBoundMs}) — the cluster was down (all replicas crashed) and is starting again;
 * null otherwise. A new leader then starts over from INITIALIZING instead of trusting the left-over state.
 * `lastCheckedAt` is the latest published health check's time, if any.
 */
export function staleFor(
  current: Pick<PublishedState, 'state' | 'since'>,
  lastCheckedAt: number | undefined,
  now: number,
  boundMs: number,
): number | null {
  if (current.state === IntegrationState.Uninitialized || current.state === IntegrationState.Initializing) {
    return null;
  }
  const age = now - Math.max(current.since, lastCheckedAt ?? 0);
  return age > boundMs ? age : null;
}

/** What it takes to publish `target` over the current state. */
export type TransitionPlan =
  /** Same state, same failing checks: nothing to write. */
  | { kind: 'none' }
  /** Same state for another cause (e.g. FAILED for another check): rewrite the reason, no transition. */
  | { kind: 'annotate' }
  /** The legal transitions to make, in order (UNINITIALIZED reaches anything but INITIALIZING through it). */
  | { kind: 'move'; steps: readonly (readonly [IntegrationState, IntegrationState])[] };

/** How to get from the published state to `target` along legal edges; see {@link TransitionPlan}. */
export function planTransition(
  current: Pick<PublishedState, 'state' | 'failingChecks'>,
  target: IntegrationState,
  failing: readonly CheckResult[],
): TransitionPlan {
  const from = current.state;
  if (from === target) {
    return checkNames(current.failingChecks) === checkNames(failing) ? { kind: 'none' } : { kind: 'annotate' };
  }
  if (isLegalTransition(from, target)) return { kind: 'move', steps: [[from, target]] };
  const via = IntegrationState.Initializing;
  return {
    kind: 'move',
    steps: [
      [from, via],
      [via, target],
    ],
  };
}

function checkNames(checks: readonly CheckResult[]): string {
  return checks.map((c) => `${c.name}:${c.severity}`).join(',');
}

/** What the health duty does after an evaluation: the new DEGRADED streak, and why recovery is due (or null). */
export interface RecoveryDecision {
  degradedStreak: number;
  recoverReason: string | null;
}

/** Recovery on FAILED, and after `degradedRecoveryAfter` consecutive DEGRADED evaluations. */
export function afterEvaluation(
  state: IntegrationState,
  degradedStreak: number,
  degradedRecoveryAfter: number,
): RecoveryDecision {
  const streak = state === IntegrationState.Degraded ? degradedStreak + 1 : 0;
  if (state === IntegrationState.Failed) return { degradedStreak: streak, recoverReason: 'integration FAILED' };
  if (streak >= degradedRecoveryAfter) {
    return { degradedStreak: streak, recoverReason: `DEGRADED for ${streak} consecutive checks` };
  }
  return { degradedStreak: streak, recoverReason: null };
}

/** How a recovery attempt ended, as the recovery log records it. */
export type RecoveryOutcome = RecoveryLogEntry['outcome'];

/** ACTIVE after the attempt → recovered; otherwise the last of `attempts` gives up, others retry. */
export function recoveryOutcome(state: IntegrationState, attempt: number, attempts: number): RecoveryOutcome {
  if (state === IntegrationState.Active) return 'recovered';
  return attempt >= attempts ? 'gave-up' : 'still-failing';
}
