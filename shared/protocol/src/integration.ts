/** The integration lifecycle, owned by the leader and published in Redis. */
export const IntegrationState = {
  Uninitialized: 'UNINITIALIZED',
  Initializing: 'INITIALIZING',
  Active: 'ACTIVE',
  Degraded: 'DEGRADED',
  Failed: 'FAILED',
} as const;
export type IntegrationState = (typeof IntegrationState)[keyof typeof IntegrationState];

/**
 * Every integration state, in lifecycle order (UNINITIALIZED … FAILED). The position is the value of the
 * `agent_bridge.integration.state_code` metric, so dashboards and alerts depend on this order.
 */
export const INTEGRATION_STATES: readonly IntegrationState[] = Object.values(IntegrationState);

/** Legal transitions. A transition to the same state is not a transition (nothing is recorded). */
export const INTEGRATION_TRANSITIONS: Readonly<Record<IntegrationState, readonly IntegrationState[]>> = {
  UNINITIALIZED: ['INITIALIZING'],
  INITIALIZING: ['ACTIVE', 'DEGRADED', 'FAILED', 'UNINITIALIZED'],
  // → UNINITIALIZED: the last bridge replica stopped cleanly ("cluster stopped").
  ACTIVE: ['DEGRADED', 'FAILED', 'INITIALIZING', 'UNINITIALIZED'],
  DEGRADED: ['ACTIVE', 'FAILED', 'INITIALIZING', 'UNINITIALIZED'],
  FAILED: ['INITIALIZING', 'ACTIVE', 'DEGRADED', 'UNINITIALIZED'],
};

export function isLegalTransition(from: IntegrationState, to: IntegrationState): boolean {
  return INTEGRATION_TRANSITIONS[from].includes(to);
}

/** One health check's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** `fail` means events cannot flow; `warn` means they flow but something is out of bounds. */
  severity: 'ok' | 'warn' | 'fail';
  latencyMs: number;
  detail: string;
}

/** One record of the published transition history. */
export interface StateTransition {
  from: IntegrationState;
  to: IntegrationState;
  leaderId: string;
  epoch: number;
  at: number;
  reason: string;
  failingChecks: CheckResult[];
}

/** The published current state (the value of the state key). */
export interface PublishedState {
  state: IntegrationState;
  leaderId: string;
  epoch: number;
  since: number;
  reason: string;
  failingChecks: CheckResult[];
}

export interface MemberRecord {
  id: string;
  role: 'bridge' | 'gateway';
  host: string;
  pid: number;
  startedAt: number;
  lastSeen: number;
  /** Gateway: connected sockets. Bridge: whether its event workers are running. */
  info: Record<string, unknown>;
}

export interface QueueStats {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  paused: boolean;
  /** Age of the oldest waiting job, ms (0 when none waits). */
  lagMs: number;
}

export interface LeaderInfo {
  leaderId: string | null;
  epoch: number | null;
  leaseRemainingMs: number | null;
}

/** What `healthCheck()` returns. */
export interface HealthStatus {
  state: IntegrationState;
  checkedAt: number;
  checks: CheckResult[];
  leader: LeaderInfo;
  queues: QueueStats[];
  replicas: MemberRecord[];
  gateways: MemberRecord[];
}

/** What `ensureIntegration()` returns. */
export interface IntegrationResult {
  ok: boolean;
  state: IntegrationState;
  /** Which replica ran the checks (the leader), and under which epoch. */
  leaderId: string | null;
  epoch: number | null;
  checks: CheckResult[];
  durationMs: number;
  /** Which leader attempt produced this result (callers that shared one attempt see the same id). */
  attemptId?: string;
}

/** What `recoverIntegration()` returns. */
export interface RecoveryResult {
  incidentId: string;
  jobId: string;
  /** False when a recovery for this incident was already in flight (the job was not added twice). */
  enqueued: boolean;
}
