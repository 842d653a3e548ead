export { EVENT_JOB_NAME, EventRouter } from './event-router';
export type { EventRouterOptions, EventRouterState, EventRouterStatus } from './event-router';
export { sweepGaps } from './gap-sweeper';
export type { SweepGapsDeps } from './gap-sweeper';
export { commitEvent, commitGap, envelopeBody, statusOfEvent } from './commit';
export type { CommitOutcome, CommitResult } from './commit';
export { RoomPublisher } from './room-publisher';
