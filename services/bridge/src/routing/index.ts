export { EventRouter } from './event-router';
export type { EventRouterStatus } from './router-status';
export { sweepGaps } from './gap-sweeper';
export { bridgeRunStore } from './bridge-run-store';
export { RoomPublisher } from './room-publisher';
