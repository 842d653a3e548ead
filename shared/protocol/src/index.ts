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
  TimeoutError,
  TooManyConnectionsError,
  TooManyRunsError,
  UnauthorizedError,
  toWireError,
} from './errors';
export type { LimitScope, ValidationIssue, WireError } from './errors';
export {
  EventEnvelopeSchema,
  EventIdSchema,
  EventTypeSchema,
  IdSchema,
  RunIdSchema,
  StandardEventType,
  StandardPayloadSchemas,
  TERMINAL_EVENT_TYPES,
  UserIdSchema,
  isStandardEventType,
} from './events';
export type { EventEnvelope, StandardPayloads } from './events';
export {
  CancelRunRequestSchema,
  ReauthRequestSchema,
  RunStatusSchema,
  StartRunRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  runRoom,
} from './socket';
export type {
  AckError,
  CancelRunRequest,
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
  EventJobSchema,
  JobName,
  MAX_EVENTS_PER_BATCH_JOB,
  RecoverJobSchema,
  StartRunJobSchema,
  eventBatchJobId,
  eventsInJobId,
} from './jobs';
export type { DeadLetterRecord, EventBatchJob, RecoverJob, StartRunJob } from './jobs';
export { INTEGRATION_TRANSITIONS, IntegrationState, isLegalTransition } from './integration';
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
export { RunRecordSchema } from './run';
export type { RunRecord } from './run';
export type { KeyLayout } from './keys';
export { describeIssues, jsonSize, toIssues, validateEvent } from './validation';
export type { ValidateEventOptions } from './validation';
