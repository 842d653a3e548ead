export { BridgeClient, connect } from './client';
export type {
  ClientStats,
  ConnectOptions,
  ConnectionState,
  SubscribeOptions,
  Subscription,
  SubscriptionInfo,
} from './types';
// The error class every failure of the SDK is an instance of (with a stable `code` from ErrorCode).
export { AgentBridgeError, ErrorCode } from '@agent-bridge/protocol';
// The run-status rules of the registry, so a page shows the status the bridge records (cancelled by code).
export { isTerminalRunStatus, runStatusOfEvent } from '@agent-bridge/protocol';
export type { EventEnvelope, RunStatus, WireError } from '@agent-bridge/protocol';
