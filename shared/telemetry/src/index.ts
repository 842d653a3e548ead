export { createLogger, silentLogger } from './logger';
export type { Logger, LoggerOptions } from './logger';
export {
  DELIVERY_LATENCY_BOUNDS_MS,
  DeliveryStats,
  addLatencyCounts,
  diffDelivery,
  isDeliverySnapshot,
  latencyQuantile,
} from './delivery-stats';
export type { DeliverySnapshot } from './delivery-stats';
export { METER_NAME, metrics } from './metrics';
export type { AgentBridgeMetrics } from './metrics';
export { serveMetrics, startTelemetry } from './sdk';
export type { StartTelemetryOptions, Telemetry } from './sdk';
export {
  MessagingAttr,
  consumeWithSpan,
  TRACER_NAME,
  extractTraceparent,
  failSpan,
  injectTraceparent,
  recordDelivery,
  setTracingDefaults,
  startConsumerSpan,
  startDeliverySpan,
  startProducerSpan,
  tracedEnvelopeOf,
  withSpan,
} from './tracing';
export type { TracedEnvelope } from './tracing';
