export { IntegrationStateReader } from './state-reader';
export type { IntegrationStateReaderOptions, PublishedResult, RecoveryLogEntry } from './state-reader';
export { readLastIssuedEpoch, readLeaderRecord } from './leader-record';
export type { LeaderRecord } from './leader-record';
export { listMembers, readMembers } from './members';
export type { MemberView } from './members';
export { queueStats } from './queue-stats';
export { RecoveryQueue, incidentIdFor, recoveryBackoffMs } from './recovery-queue';
