export { AgentPublisher } from './publisher';
export type { AgentPublisherOptions, AgentPublisherState, AgentPublisherStatus, StartRunOptions } from './publisher';
export { RunHandle } from './run-handle';
export type { EmitOptions, EmittedEvent } from './run-handle';
export { validateEvent } from '@agent-bridge/protocol';
