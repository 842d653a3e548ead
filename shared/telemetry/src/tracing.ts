import {
  type Attributes,
  type Context,
  type Link,
  type Span,
  SpanKind,
  SpanStatusCode,
  ROOT_CONTEXT,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { metrics } from './metrics';

/** Instrumentation scope of every agent-bridge span. */
export const TRACER_NAME = 'agent-bridge';

/** The fields of an event envelope that tracing reads (structural, so this package needs no protocol import). */
export interface TracedEnvelope {
  id: string;
  runId: string;
  seq: number;
  type: string;
  traceparent?: string | undefined;
}

/** Messaging semantic-convention attribute names (stable names of semconv 1.26+). */
export const MessagingAttr = {
  system: 'messaging.system',
  destinationName: 'messaging.destination.name',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  consumerGroup: 'messaging.consumer.group.name',
} as const;

// Trace context always travels as W3C `traceparent`, whatever global propagators a host app installs.
const propagator = new W3CTraceContextPropagator();

const defaults = { eventsQueue: 'agent-events' };

/** Sets the queue name used in messaging attributes when a helper is not given one (startTelemetry does). */
export function setTracingDefaults(options: { eventsQueue?: string }): void {
  if (options.eventsQueue) defaults.eventsQueue = options.eventsQueue;
}

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/**
 * The W3C `traceparent` of `span` (or of the active span) for an envelope or job, or undefined when there
 * is no sampled, valid span (telemetry off). The carrier is a string so it survives JSON and other languages.
 */
export function injectTraceparent(span?: Span): string | undefined {
  // Telemetry off (no valid span context): nothing to inject, and no context object to build per emit.
  if (span && !isSpanContextValid(span.spanContext())) return undefined;
  const ctx = span ? trace.setSpan(context.active(), span) : context.active();
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, defaultTextMapSetter);
  return carrier['traceparent'];
}

/** The context whose parent is the span a `traceparent` names (ROOT_CONTEXT when absent or invalid). */
export function extractTraceparent(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
}

/**
 * The agent's emit span (kind PRODUCER, `send` to the events queue). Put {@link injectTraceparent}(span) in
 * the envelope, then end the span when the job is added (or record the error).
 */
export function startProducerSpan(
  runId: string,
  type: string,
  options: { queue?: string; eventId?: string } = {},
): Span {
  const queue = options.queue ?? defaults.eventsQueue;
  const attributes: Attributes = {
    [MessagingAttr.system]: 'bullmq',
    [MessagingAttr.destinationName]: queue,
    [MessagingAttr.operationType]: 'send',
    [MessagingAttr.operationName]: 'emit',
    [MessagingAttr.conversationId]: runId,
    'agent_bridge.run_id': runId,
    'agent_bridge.event_type': type,
  };
  if (options.eventId) attributes[MessagingAttr.messageId] = options.eventId;
  return tracer().startSpan(`send ${queue}`, { kind: SpanKind.PRODUCER, attributes });
}

function envelopeAttributes(envelope: TracedEnvelope): Attributes {
  return {
    [MessagingAttr.messageId]: envelope.id,
    [MessagingAttr.conversationId]: envelope.runId,
    'agent_bridge.run_id': envelope.runId,
    'agent_bridge.seq': envelope.seq,
    'agent_bridge.event_type': envelope.type,
  };
}

function linkTo(parent: Context): Link[] {
  const sc = trace.getSpanContext(parent);
  return sc && trace.isSpanContextValid(sc) ? [{ context: sc }] : [];
}

/**
 * The bridge's commit span (kind CONSUMER, `process` from the events queue), child of the emit span named
 * by `envelope.traceparent` and linked to it as the messaging conventions recommend for batch-capable
 * consumers. The trace context comes from the job, never from process memory.
 */
export function startConsumerSpan(
  envelope: TracedEnvelope,
  options: { queue?: string; consumerGroup?: string } = {},
): Span {
  const queue = options.queue ?? defaults.eventsQueue;
  const parent = extractTraceparent(envelope.traceparent);
  return tracer().startSpan(
    `process ${queue}`,
    {
      kind: SpanKind.CONSUMER,
      links: linkTo(parent),
      attributes: {
        ...envelopeAttributes(envelope),
        [MessagingAttr.system]: 'bullmq',
        [MessagingAttr.destinationName]: queue,
        [MessagingAttr.operationType]: 'process',
        [MessagingAttr.operationName]: 'commit',
        [MessagingAttr.consumerGroup]: options.consumerGroup ?? 'agent-bridge',
      },
    },
    parent,
  );
}

/**
 * The traced fields of a job's data that should be an envelope but may be anything (invalid jobs are
 * traced too, then dead-lettered): missing fields become neutral values, `fallbackId` stands in for `id`.
 */
export function tracedEnvelopeOf(data: unknown, fallbackId?: string): TracedEnvelope {
  const d = (data !== null && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  return {
    id: typeof d['id'] === 'string' ? d['id'] : (fallbackId ?? ''),
    runId: typeof d['runId'] === 'string' ? d['runId'] : '',
    seq: typeof d['seq'] === 'number' ? d['seq'] : 0,
    type: typeof d['type'] === 'string' ? d['type'] : '',
    traceparent: typeof d['traceparent'] === 'string' ? d['traceparent'] : undefined,
  };
}

/**
 * Runs a queue processor inside the commit span ({@link startConsumerSpan}) of the job's envelope, made
 * active so nested spans join the event's trace. A string result is recorded as `agent_bridge.outcome`;
 * an error fails the span unless `expectedError` says it is control flow (e.g. BullMQ's DelayedError).
 */
export async function consumeWithSpan<T>(
  data: unknown,
  options: { queue?: string; fallbackId?: string; expectedError?: (err: unknown) => boolean },
  fn: () => Promise<T>,
): Promise<T> {
  const span = startConsumerSpan(
    tracedEnvelopeOf(data, options.fallbackId),
    options.queue ? { queue: options.queue } : {},
  );
  try {
    const result = await context.with(trace.setSpan(context.active(), span), fn);
    if (typeof result === 'string') span.setAttribute('agent_bridge.outcome', result);
    span.end();
    return result;
  } catch (err) {
    if (options.expectedError?.(err)) span.end();
    else failSpan(span, err);
    throw err;
  }
}

/**
 * A gateway's delivery span (kind PRODUCER, `send` to the Socket.IO room of the run), in the trace of the
 * envelope's emit. `replay: true` marks events sent from history in a subscribe ack.
 */
export function startDeliverySpan(envelope: TracedEnvelope, options: { replay?: boolean } = {}): Span {
  const parent = extractTraceparent(envelope.traceparent);
  return tracer().startSpan(
    `send run:${envelope.runId}`,
    {
      kind: SpanKind.PRODUCER,
      links: linkTo(parent),
      attributes: {
        ...envelopeAttributes(envelope),
        [MessagingAttr.system]: 'socket.io',
        [MessagingAttr.destinationName]: `run:${envelope.runId}`,
        [MessagingAttr.operationType]: 'send',
        [MessagingAttr.operationName]: options.replay ? 'replay' : 'deliver',
      },
    },
    parent,
  );
}

/**
 * Records one event written to one client socket by a gateway: a delivery span (ended at once) in the
 * trace of the event's emit, the delivered count and the end-to-end latency (now − envelope `ts`).
 * Call it for live events (Socket.IO `onAnyOutgoing` of `agent_event`). Never throws.
 */
export function recordDelivery(envelope: TracedEnvelope & { ts?: number }, options: { replay?: boolean } = {}): void {
  try {
    startDeliverySpan(envelope, options).end();
    metrics.eventsDelivered.add(1);
    if (typeof envelope.ts === 'number' && !options.replay)
      metrics.endToEndLatency.record(Math.max(0, Date.now() - envelope.ts));
  } catch {
    // Telemetry must never break delivery.
  }
}

/** Ends `span` with an error status and the exception recorded. Never throws. */
export function failSpan(span: Span, err: unknown): void {
  try {
    span.recordException(err instanceof Error ? err : new Error(String(err)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  } finally {
    span.end();
  }
}

/**
 * Runs `fn` inside an active INTERNAL span (leader election, state transitions, ensure / health / recovery),
 * ending it with the outcome. The span is passed in for extra attributes.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    try {
      const result = await fn(span);
      span.end();
      return result;
    } catch (err) {
      failSpan(span, err);
      throw err;
    }
  });
}
