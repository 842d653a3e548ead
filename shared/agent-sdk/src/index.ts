export { AgentPublisher } from './publisher';
export type { AgentPublisherOptions, AgentPublisherState, AgentPublisherStatus, StartRunOptions } from './publisher';
export type { PublisherLogger } from './options';
export { RunHandle } from './run-handle';
export type { EmitOptions, EmittedEvent } from './run-handle';
export {
  AgentBridgeError,
  BackpressureError,
  ConfigError,
  ErrorCode,
  ForbiddenError,
  IllegalStateError,
  InvalidEventError,
  InvalidRequestError,
  PayloadTooLargeError,
  validateEvent,
} from '@agent-bridge/protocol';
export type { EventEnvelope } from '@agent-bridge/protocol';
