export { closeRedis, createLockClients, createRedis } from './connections';
export type { CreateRedisOptions, RedisConnection, RedisRole } from './connections';
export { RedisSetupError, checkRedis } from './startup-check';
export type { RedisReport } from './startup-check';
export { loadLua } from './lua';
export type { LuaScript } from './lua';
export { MemberHeartbeat, listMembers, removeDeadMembers } from './membership';
export type { MemberHeartbeatOptions, MemberRole } from './membership';
