/**
 * The Redis key layout. Keys a Lua script touches together share a hash tag, so every script runs on a
 * single slot of a Redis Cluster:
 * - `{run:<runId>}` — everything about one run (registry record, history, reorder buffer);
 * - `{cluster}` — the leader record, fencing epoch, integration state and its history;
 * - BullMQ queues live under `<prefix>:{bull}` so each queue's keys share a slot too;
 * - `{conns}` — the gateways' connection counts (one script sums them over every live gateway).
 * Limits per user and per IP live under `<prefix>:limits:` (one ACL pattern for the gateways).
 */
export interface KeyLayout {
  readonly prefix: string;
  /** BullMQ `prefix` option. */
  readonly bullPrefix: string;
  /**
   * Run registry record + commit cursor (hash). Fields: `runId`, `owner` (user id), `agent`, `status`
   * (RunStatus), `createdAt`, `updatedAt` (epoch ms), `headSeq` (highest committed seq, dense),
   * `epoch` (history incarnation, set when the history is created), `cancelRequested` ("1" once asked),
   * `gapSince` (epoch ms since which the head has been blocked by a missing seq; absent when no gap).
   * Only the bridge writes it freely; the gateway and agent Redis users may only add missing fields (HSETNX:
   * registration, `cancelRequested`), so the owner is set once (infra/redis/users.acl).
   */
  runMeta(runId: string): string;
  /**
   * Committed events of a run: a stream whose entry id is `<seq>-0` and whose one field `e` holds the
   * envelope JSON (with the history `epoch` stamped), trimmed to the configured length. An entry whose
   * commit also released buffered events carries a second field `d` = the last seq released with it (so a
   * retried job can re-publish exactly what its first attempt committed); readers use `e` only.
   */
  runHistory(runId: string): string;
  /**
   * Reorder buffer: events that arrived ahead of a missing seq (hash seq → envelope JSON). Written by the
   * bridge only (the commit script copies it into the history); the agent user may list its seqs (HKEYS).
   */
  runPending(runId: string): string;
  /** Every run, scored by creation time (sorted set). */
  readonly runsIndex: string;
  /** One user's runs, scored by creation time (sorted set). */
  userRuns(userId: string): string;
  /** Runs with a gap in their reorder buffer, scored by when the gap was first seen (sorted set). */
  readonly gappedRuns: string;
  /** Redlock resource of the leader lease. */
  readonly leaderLease: string;
  /** Leader record (hash: id, token, epoch), expiring with the lease: the fencing authority. */
  readonly leader: string;
  /** Last fencing epoch issued (integer). */
  readonly leaderEpoch: string;
  /**
   * Replication id (INFO `master_replid`) of the Redis that issued the last fencing epoch: when the
   * serving master's differs (promotion, restart), the next epoch jumps to Redis time in ms (decision 0005).
   */
  readonly leaderEpochLineage: string;
  /** Pub/Sub channel announcing leadership changes and releases. */
  readonly leaderChannel: string;
  /** Current integration state (JSON of PublishedState). */
  readonly integrationState: string;
  /** Transition history (capped list, newest first). */
  readonly integrationHistory: string;
  /** Pub/Sub channel with every transition. */
  readonly integrationChannel: string;
  /** Latest ensureIntegration result published by the leader (JSON of IntegrationResult). */
  readonly integrationResult: string;
  /** Latest health check published by the leader (JSON of HealthStatus). */
  readonly integrationHealth: string;
  /** Pub/Sub channel on which non-leaders ask the leader to ensure the integration. */
  readonly ensureRequestChannel: string;
  /** Recent recovery outcomes (capped list, newest first). */
  readonly recoveryLog: string;
  /** Live members of a role (sorted set by expiry time) and their records (hash). */
  members(role: 'bridge' | 'gateway'): string;
  memberRecords(role: 'bridge' | 'gateway'): string;
  /**
   * The ops service's chart ring: a stream of samples whose entry id is `<bucket start ms>-0` (so one
   * sample per bucket cluster-wide), trimmed by age (`MINID`) to the chart window.
   */
  readonly opsSamples: string;
  /**
   * `keyPrefix` of the ops login throttle (rate-limiter-flexible appends `:<client IP>`): failed basic-auth
   * attempts per IP, shared by every ops replica; under the ops role's own `{cluster}:ops:` keys.
   */
  readonly opsLoginFailures: string;
  /** Pub/Sub channel prefix for end-to-end probe replies. */
  probeReplyChannel(probeId: string): string;
  /** Socket.IO Redis adapter channel prefix (`key` option of the adapter and emitter). */
  readonly socketIoKey: string;
  /** Commands for a running run (cancel), per run (Pub/Sub channel). */
  runControlChannel(runId: string): string;
  /** `keyPrefix` of one rate limiter (rate-limiter-flexible appends `:<user or IP>`; string keys with expiry). */
  rateLimit(name: string): string;
  /** Gateways holding connection counts (sorted set: gateway id → expiry ms, refreshed by each gateway). */
  readonly connectionGateways: string;
  /**
   * One gateway's open connections (hash `u:<userId>` / `ip:<address>` → count), expiring unless that gateway
   * refreshes it: a crashed gateway's connections stop counting within the heartbeat TTL.
   */
  connectionCounts(gatewayId: string): string;
  /** One user's unfinished runs started with start_run (sorted set: run id → slot expiry ms). */
  userRunSlots(userId: string): string;
}

export function keyLayout(prefix: string): KeyLayout {
  const cluster = `${prefix}:{cluster}`;
  return {
    prefix,
    bullPrefix: `${prefix}:{bull}`,
    runMeta: (runId) => `${prefix}:{run:${runId}}:meta`,
    runHistory: (runId) => `${prefix}:{run:${runId}}:history`,
    runPending: (runId) => `${prefix}:{run:${runId}}:pending`,
    runsIndex: `${prefix}:runs`,
    userRuns: (userId) => `${prefix}:user-runs:${userId}`,
    gappedRuns: `${prefix}:gapped-runs`,
    leaderLease: `${cluster}:leader-lease`,
    leader: `${cluster}:leader`,
    leaderEpoch: `${cluster}:leader-epoch`,
    leaderEpochLineage: `${cluster}:leader-epoch-lineage`,
    leaderChannel: `${cluster}:leader-events`,
    integrationState: `${cluster}:integration:state`,
    integrationHistory: `${cluster}:integration:history`,
    integrationChannel: `${cluster}:integration:changes`,
    integrationResult: `${cluster}:integration:result`,
    integrationHealth: `${cluster}:integration:health`,
    ensureRequestChannel: `${cluster}:integration:ensure-requests`,
    recoveryLog: `${cluster}:integration:recoveries`,
    members: (role) => `${cluster}:members:${role}`,
    memberRecords: (role) => `${cluster}:members:${role}:records`,
    opsSamples: `${cluster}:ops:samples`,
    opsLoginFailures: `${cluster}:ops:login-failures`,
    probeReplyChannel: (probeId) => `${cluster}:probe:${probeId}`,
    socketIoKey: `${prefix}:socket.io`,
    runControlChannel: (runId) => `${prefix}:run-control:${runId}`,
    rateLimit: (name) => `${prefix}:limits:rl:${name}`,
    connectionGateways: `${prefix}:limits:{conns}:gateways`,
    connectionCounts: (gatewayId) => `${prefix}:limits:{conns}:gw:${gatewayId}`,
    userRunSlots: (userId) => `${prefix}:limits:runs:${userId}`,
  };
}
