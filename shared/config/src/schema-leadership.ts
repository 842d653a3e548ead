import { int, num, setting } from './setting';

/** The leader lease (Redlock) that elects the one integration leader among the bridge replicas. */
export const leaderDefinition = {
  leaseTtlMs: setting({
    env: 'AB_LEADER_LEASE_TTL_MS',
    schema: int(500, 600_000),
    default: 3_000,
    description: 'Validity of the leader lease. A dead leader is replaced within about this plus retryDelayMs.',
  }),
  extendBeforeMs: setting({
    env: 'AB_LEADER_EXTEND_BEFORE_MS',
    schema: int(100, 600_000),
    default: 1_500,
    description: 'Extend the lease when it has this much validity left (must be below leaseTtlMs).',
  }),
  retryDelayMs: setting({
    env: 'AB_LEADER_RETRY_DELAY_MS',
    schema: int(10, 600_000),
    default: 500,
    description: 'Pause between acquisition attempts of a standby.',
  }),
  retryJitterMs: setting({
    env: 'AB_LEADER_RETRY_JITTER_MS',
    schema: int(0, 60_000),
    default: 200,
    description: 'Random extra pause (0..jitter) added to retryDelayMs, so standbys do not collide.',
  }),
  absentFailMs: setting({
    env: 'AB_LEADER_ABSENT_FAIL_MS',
    schema: int(100, 3_600_000),
    default: 3_000,
    description:
      'With no leader for this long (e.g. lock quorum lost), any replica publishes FAILED with a failing lease check. ' +
      'Keep it above a normal failover (about retryDelayMs + retryJitterMs without a leader record).',
  }),
  driftFactor: setting({
    env: 'AB_LEADER_DRIFT_FACTOR',
    schema: num(0, 0.5),
    default: 0.01,
    description: 'Clock drift allowance of the Redlock validity computation.',
  }),
};

/** The leader's health duty: what it checks and when it declares the integration degraded. */
export const healthDefinition = {
  intervalMs: setting({
    env: 'AB_HEALTH_INTERVAL_MS',
    schema: int(100, 3_600_000),
    default: 2_000,
    description: 'How often the leader runs the health check and drives the state machine.',
  }),
  probeTimeoutMs: setting({
    env: 'AB_HEALTH_PROBE_TIMEOUT_MS',
    schema: int(50, 600_000),
    default: 2_000,
    description: 'Deadline of the end-to-end probe (bridge -> adapter -> gateways -> back).',
  }),
  probeLatencyWarnMs: setting({
    env: 'AB_HEALTH_PROBE_LATENCY_WARN_MS',
    schema: int(1, 600_000),
    default: 500,
    description: 'Probe round trip above this makes the integration DEGRADED.',
  }),
  queueLagWarnMs: setting({
    env: 'AB_HEALTH_QUEUE_LAG_WARN_MS',
    schema: int(1, 3_600_000),
    default: 5_000,
    description: 'Age of the oldest waiting event above this makes the integration DEGRADED.',
  }),
  minReplicas: setting({
    env: 'AB_HEALTH_MIN_REPLICAS',
    schema: int(1, 1000),
    default: 1,
    description: 'Fewer live bridge replicas than this makes the integration DEGRADED (zero: FAILED).',
  }),
  minGateways: setting({
    env: 'AB_HEALTH_MIN_GATEWAYS',
    schema: int(1, 1000),
    default: 1,
    description: 'Fewer live gateways than this makes the integration DEGRADED (zero: FAILED).',
  }),
  startupGraceMs: setting({
    env: 'AB_HEALTH_STARTUP_GRACE_MS',
    schema: int(0, 3_600_000),
    // 15 s still let 1 of 13 cold starts go FAILED on a 2-core machine at load 25 (processes took longer).
    default: 60_000,
    description:
      'While INITIALIZING (a cold start), failing checks keep the state INITIALIZING for this long after ' +
      'initialization began, so gateways and replicas starting alongside can register; then the checks decide.',
  }),
  degradedRecoveryAfter: setting({
    env: 'AB_HEALTH_DEGRADED_RECOVERY_AFTER',
    schema: int(1, 10_000),
    default: 5,
    description: 'Consecutive DEGRADED checks after which the leader schedules a recovery.',
  }),
  historyLength: setting({
    env: 'AB_HEALTH_HISTORY_LENGTH',
    schema: int(1, 100_000),
    default: 200,
    description: 'Transitions kept in the published state history.',
  }),
};

/** Membership records of the processes of the cluster (heartbeats, expiry). */
export const membershipDefinition = {
  heartbeatIntervalMs: setting({
    env: 'AB_HEARTBEAT_INTERVAL_MS',
    schema: int(50, 600_000),
    default: 1_000,
    description: 'How often replicas and gateways refresh their membership record.',
  }),
  heartbeatTtlMs: setting({
    env: 'AB_HEARTBEAT_TTL_MS',
    schema: int(100, 3_600_000),
    default: 5_000,
    description: 'A member not seen for this long is dead; the leader removes its record.',
  }),
};

/** Retries of the recovery queue's jobs (the incidents the leader raises and the replicas process). */
export const recoveryDefinition = {
  attempts: setting({
    env: 'AB_RECOVERY_ATTEMPTS',
    schema: int(1, 1000),
    default: 8,
    description: 'Attempts of one recovery job before the incident is left FAILED.',
  }),
  backoffMs: setting({
    env: 'AB_RECOVERY_BACKOFF_MS',
    schema: int(1, 3_600_000),
    default: 500,
    description: 'Base delay of the exponential backoff between recovery attempts.',
  }),
  backoffMaxMs: setting({
    env: 'AB_RECOVERY_BACKOFF_MAX_MS',
    schema: int(1, 3_600_000),
    default: 30_000,
    description: 'Upper bound of one backoff delay.',
  }),
  jitter: setting({
    env: 'AB_RECOVERY_JITTER',
    schema: num(0, 1),
    default: 0.5,
    description: 'Random share of each backoff delay (0: none, 1: anywhere between 0 and the delay).',
  }),
};
