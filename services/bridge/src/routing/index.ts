export { EVENT_JOB_NAME, EventRouter } from './event-router';
export type { EventRouterOptions, EventRouterState, EventRouterStatus } from './event-router';
export { sweepGaps } from './gap-sweeper';
export type { SweepGapsDeps } from './gap-sweeper';
export { bridgeRunStore } from './bridge-run-store';
export { CommitBatcher } from './commit-batcher';
export type { BatchedCommit } from './commit-batcher';
export { RoomPublisher } from './room-publisher';
