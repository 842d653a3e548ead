export { closeRedis, createLockClients, createRedis, waitUntilReady } from './connections';
export type { CreateRedisOptions, RedisConnection, RedisRole } from './connections';
export { MIN_REDIS_VERSION, RedisSetupError, checkRedis, infoField, versionAtLeast } from './startup-check';
export type { RedisReport } from './startup-check';
export { describeTopology, nodeAddress, readTopology } from './topology';
export {
  PUBSUB_MODE_FIELD,
  SHARDED_PUBSUB_MIN_VERSION,
  checkPubSubAgreement,
  choosePubSubMode,
  resolvePubSubMode,
} from './pubsub-mode';
export type { RedisMasterInfo, RedisTopology } from './topology';
export { loadLua, loadScript, runScript } from './lua';
export type { LoadedScript, LuaScript } from './lua';
export { MemberHeartbeat } from './membership';
export type { MemberHeartbeatOptions, MemberRole } from './membership';
export {
  CANCEL_MESSAGE,
  decodeRunRecord,
  expireUnattended,
  getRun,
  listRuns,
  registerRun,
  requestCancel,
} from './run-store/registry';
export type {
  ExpireUnattendedResult,
  ListRunsOptions,
  RegisterRunInput,
  RegisterRunResult,
} from './run-store/registry';
export { readHistory } from './run-store/history';
export type { HistoryPage } from './run-store/history';
export {
  CommitRefusedError,
  commitRunEvents,
  gapIdPrefix,
  markGapped,
  overdueGappedRuns,
  sweepRunGap,
  unmarkGapped,
} from './run-store/commit';
export type {
  CommitLimits,
  CommitOutcome,
  EventCommitResult,
  GapSweepResult,
  RoomMessage,
  RunCommitResult,
  RunCommitState,
} from './run-store/commit';
export { decodeCommitEvents, encodeCommitEvents, packEvent, unpackPublished } from './run-store/event-codec';
export type { PackedEvent } from './run-store/event-codec';
export { RunStore } from './run-store/run-store';
export type { RunStoreOptions } from './run-store/run-store';
export type { RunRecord } from '@agent-bridge/protocol';
export { ReplicationError, replicated, replicatedWithRetry } from './replication';
export type { ReplicationPolicy } from './replication';
