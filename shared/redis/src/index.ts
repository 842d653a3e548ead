export { closeRedis, createLockClients, createRedis } from './connections';
export type { CreateRedisOptions, RedisConnection, RedisRole } from './connections';
export { RedisSetupError, checkRedis } from './startup-check';
export type { RedisReport } from './startup-check';
export { loadLua, loadScript, runScript } from './lua';
export type { LoadedScript, LuaScript } from './lua';
export { MemberHeartbeat, listMembers, removeDeadMembers } from './membership';
export type { MemberHeartbeatOptions, MemberRole } from './membership';
export {
  CANCEL_MESSAGE,
  decodeRunRecord,
  getRun,
  listRuns,
  readHistory,
  registerRun,
  requestCancel,
} from './run-store';
export type { HistoryPage, ListRunsOptions, RegisterRunInput, RegisterRunResult } from './run-store';
export type { RunRecord } from '@agent-bridge/protocol';
