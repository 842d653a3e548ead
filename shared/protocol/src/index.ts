export {
  AgentBridgeError,
  BackpressureError,
  ConfigError,
  ErrorCode,
  FencedError,
  ForbiddenError,
  IllegalStateError,
  InvalidEventError,
  InvalidRequestError,
  NotFoundError,
  NotLeaderError,
  PayloadTooLargeError,
  RateLimitedError,
  TooManyConnectionsError,
  TooManyRunsError,
  UnauthorizedError,
  toWireError,
} from './errors';
export type { LimitScope, ValidationIssue, WireError } from './errors';
export {
  EventEnvelopeSchema,
  EventIdSchema,
  IdSchema,
  RunIdSchema,
  StandardPayloadSchemas,
  UserIdSchema,
} from './events';
export { StandardEventType, TERMINAL_EVENT_TYPES } from './event-types';
export type { EventEnvelope } from './events';
export {
  CancelRunRequestSchema,
  ReauthRequestSchema,
  StartRunRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  runIdOfRoom,
  runRoom,
} from './socket';
export type {
  AckError,
  CancelRunRequest,
  PubSubMode,
  ClientToServerEvents,
  InterServerEvents,
  ReauthAck,
  ReauthRequest,
  RunStatus,
  ServerToClientEvents,
  SimpleAck,
  StartRunAck,
  StartRunRequest,
  SubscribeAck,
  SubscribeOk,
  SubscribeRequest,
  TokenExpiryNotice,
  UnsubscribeRequest,
} from './socket';
export {
  EventBatchJobSchema,
  JobName,
  MAX_EVENTS_PER_BATCH_JOB,
  RecoverJobSchema,
  StartRunJobSchema,
  eventBatchJobId,
  eventsInJobId,
} from './jobs';
export type { DeadLetterRecord, RecoverJob, StartRunJob } from './jobs';
export { INTEGRATION_STATES, INTEGRATION_TRANSITIONS, IntegrationState, isLegalTransition } from './integration';
export type {
  CheckResult,
  HealthStatus,
  IntegrationResult,
  LeaderInfo,
  MemberRecord,
  PublishedState,
  QueueStats,
  RecoveryResult,
  StateTransition,
} from './integration';
export { keyLayout } from './keys';
export { CANCELLED_CODE, isTerminalRunStatus, runStatusOfEvent } from './run-status';
export { RunRecordSchema } from './run';
export type { RunRecord } from './run';
export type { KeyLayout } from './keys';
export { describeIssues, jsonSize, toIssues, validateEvent } from './validation';
export type { ValidateEventOptions } from './validation';
export {
  MAX_EVENT_PARTITIONS,
  consumedEventQueues,
  eventPartition,
  eventQueueFor,
  eventQueues,
  fnv1a32,
} from './partitions';
export type { EventQueueRef } from './partitions';
