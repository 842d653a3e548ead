export { BOARD_PATH, createOpsServer } from './server/ops-server';
export type { OpsServer, OpsServerOptions } from './server/ops-server';
export { StatusReader } from './status/status-reader';
export type { FailureView, LeaderView, MemberView, OpsStatus } from './status/status-reader';
