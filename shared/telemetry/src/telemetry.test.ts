import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@agent-bridge/config';
import { SpanKind, trace } from '@opentelemetry/api';
import {
  InMemoryMetricExporter,
  AggregationTemporality,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { silentLogger } from './logger';
import { metrics } from './metrics';
import { serveMetrics, startTelemetry } from './sdk';
import {
  consumeWithSpan,
  injectTraceparent,
  recordDelivery,
  startConsumerSpan,
  startDeliverySpan,
  startProducerSpan,
  withSpan,
} from './tracing';

const config = (overrides: Record<string, string | number> = {}) =>
  loadConfig({ env: {}, overrides: { AB_INSTANCE_ID: 'test-instance', ...overrides } });

describe('telemetry', () => {
  test('trace context travels in the envelope: emit (PRODUCER) -> commit (CONSUMER) -> delivery share one trace id', async () => {
    const exporter = new InMemorySpanExporter();
    const processor = new SimpleSpanProcessor({ exporter });
    const telemetry = startTelemetry({
      config: config({ AB_EVENTS_QUEUE: 'q-events' }),
      serviceName: 'test-svc',
      spanProcessors: [processor],
      metricReaders: [],
    });
    try {
      const producer = startProducerSpan('run-1', 'agent_started', { eventId: 'ev-1' });
      const envelope = {
        id: 'ev-1',
        runId: 'run-1',
        seq: 1,
        type: 'agent_started',
        traceparent: injectTraceparent(producer),
      };
      producer.end();
      // Only the JSON crosses the process boundary (the job's data), as with BullMQ.
      const onTheWire = JSON.parse(JSON.stringify(envelope)) as typeof envelope;
      const consumer = startConsumerSpan(onTheWire);
      consumer.end();
      const delivery = startDeliverySpan(onTheWire);
      delivery.end();
      // The processor exports asynchronously: flush before reading the exporter.
      await processor.forceFlush();
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => s.name)).toEqual(['send q-events', 'process q-events', 'send run:run-1']);
      const [p, c, d] = spans;
      const traceId = p!.spanContext().traceId;
      expect(c!.spanContext().traceId).toBe(traceId);
      expect(d!.spanContext().traceId).toBe(traceId);
      expect([p!.kind, c!.kind, d!.kind]).toEqual([SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.PRODUCER]);
      expect(c!.parentSpanContext?.spanId).toBe(p!.spanContext().spanId);
      expect(c!.links.map((l) => l.context.spanId)).toEqual([p!.spanContext().spanId]);
      expect(c!.attributes).toMatchObject({
        'messaging.system': 'bullmq',
        'messaging.destination.name': 'q-events',
        'messaging.operation.type': 'process',
        'messaging.message.id': 'ev-1',
        'agent_bridge.seq': 1,
      });
      expect(p!.attributes).toMatchObject({ 'messaging.operation.type': 'send', 'messaging.message.id': 'ev-1' });
      expect(d!.attributes).toMatchObject({
        'messaging.system': 'socket.io',
        'messaging.destination.name': 'run:run-1',
      });
      expect(p!.resource.attributes['service.name']).toBe('test-svc');
      expect(p!.resource.attributes['service.instance.id']).toBe('test-instance');
    } finally {
      await telemetry.shutdown();
    }
  });

  test('an envelope without traceparent starts a new root trace; withSpan records errors', async () => {
    const exporter = new InMemorySpanExporter();
    const processor = new SimpleSpanProcessor({ exporter });
    const telemetry = startTelemetry({
      config: config(),
      serviceName: 'svc',
      spanProcessors: [processor],
      metricReaders: [],
    });
    try {
      startConsumerSpan({ id: 'e', runId: 'r', seq: 3, type: 't' }).end();
      await expect(
        withSpan('leader.health_check', { epoch: 7 }, () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      await processor.forceFlush();
      const [root, failed] = exporter.getFinishedSpans();
      expect(root!.parentSpanContext).toBeUndefined();
      expect(root!.links).toEqual([]);
      expect(failed!.name).toBe('leader.health_check');
      expect(failed!.status).toEqual({ code: 2, message: 'boom' });
      expect(failed!.attributes['epoch']).toBe(7);
    } finally {
      await telemetry.shutdown();
    }
  });

  test('metrics are served in Prometheus text format by the mounted handler', async () => {
    const telemetry = startTelemetry({ config: config({ OTEL_METRICS_EXPORTER: 'prometheus' }), serviceName: 'svc' });
    let server: Server | null = null;
    try {
      expect(telemetry.metricsHandler).not.toBeNull();
      metrics.eventsRouted.add(3);
      metrics.setIntegrationState('DEGRADED');
      metrics.queueLag.record(1234, { queue: 'agent-events' });
      metrics.endToEndLatency.record(12);
      // serveMetrics() serves the same handler for servers that are not given the Telemetry object.
      server = createServer((req, res) => serveMetrics(req, res));
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^agent_bridge_events_routed_total(\{[^}]*\})? 3$/m);
      expect(text).toMatch(/^agent_bridge_integration_state\{[^}]*state="DEGRADED"[^}]*\} 1$/m);
      expect(text).toMatch(/^agent_bridge_integration_state\{[^}]*state="ACTIVE"[^}]*\} 0$/m);
      expect(text).toMatch(/^agent_bridge_integration_state_code(\{[^}]*\})? 3$/m);
      expect(text).toMatch(/^agent_bridge_queue_lag_ms\{[^}]*queue="agent-events"[^}]*\} 1234$/m);
      expect(text).toMatch(/^agent_bridge_event_e2e_latency_ms_count(\{[^}]*\})? 1$/m);
    } finally {
      server?.close();
      await telemetry.shutdown();
    }
  });

  test('recordDelivery: a delivery span in the emit trace, delivered count and end-to-end latency', async () => {
    const exporter = new InMemorySpanExporter();
    const processor = new SimpleSpanProcessor({ exporter });
    const mexporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter: mexporter, exportIntervalMillis: 60_000 });
    const telemetry = startTelemetry({
      config: config(),
      serviceName: 'gw',
      spanProcessors: [processor],
      metricReaders: [reader],
    });
    try {
      const producer = startProducerSpan('run-9', 't');
      const traceparent = injectTraceparent(producer);
      producer.end();
      recordDelivery({ id: 'e9', runId: 'run-9', seq: 9, type: 't', ts: Date.now() - 250, traceparent });
      await processor.forceFlush();
      await reader.forceFlush();
      const [, delivery] = exporter.getFinishedSpans();
      expect(delivery!.spanContext().traceId).toBe(producer.spanContext().traceId);
      expect(delivery!.attributes['messaging.operation.name']).toBe('deliver');
      const byName = new Map(
        mexporter
          .getMetrics()
          .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
          .map((m) => [m.descriptor.name, m.dataPoints[0]?.value]),
      );
      expect(byName.get('agent_bridge.events.delivered')).toBe(1);
      const latency = byName.get('agent_bridge.event.e2e_latency_ms') as { count: number; sum: number };
      expect(latency.count).toBe(1);
      expect(latency.sum).toBeGreaterThanOrEqual(250);
    } finally {
      await telemetry.shutdown();
    }
  });

  test('consumeWithSpan: the processor runs inside the commit span of the job (outcome recorded; control-flow errors are not failures)', async () => {
    const exporter = new InMemorySpanExporter();
    const processor = new SimpleSpanProcessor({ exporter });
    const telemetry = startTelemetry({
      config: config(),
      serviceName: 'b',
      spanProcessors: [processor],
      metricReaders: [],
    });
    try {
      const producer = startProducerSpan('run-c', 't');
      const data = { id: 'ec', runId: 'run-c', seq: 1, type: 't', traceparent: injectTraceparent(producer) };
      producer.end();
      const out = await consumeWithSpan(data, { queue: 'q' }, async () => {
        // Nested work joins the event's trace.
        await withSpan('nested', {}, () => undefined);
        return 'committed';
      });
      expect(out).toBe('committed');
      class Delayed extends Error {}
      await expect(
        consumeWithSpan('not an envelope', { fallbackId: 'job-7', expectedError: (e) => e instanceof Delayed }, () =>
          Promise.reject(new Delayed('later')),
        ),
      ).rejects.toThrow('later');
      await processor.forceFlush();
      const spans = exporter.getFinishedSpans();
      const commit = spans.find((s) => s.name === 'process q')!;
      const nested = spans.find((s) => s.name === 'nested')!;
      expect(commit.attributes['agent_bridge.outcome']).toBe('committed');
      expect(commit.spanContext().traceId).toBe(producer.spanContext().traceId);
      expect(nested.parentSpanContext?.spanId).toBe(commit.spanContext().spanId);
      const invalid = spans.find((s) => s.attributes['messaging.message.id'] === 'job-7')!;
      expect(invalid.status.code).toBe(0);
      expect(invalid.parentSpanContext).toBeUndefined();
    } finally {
      await telemetry.shutdown();
    }
  });

  test('serveMetrics answers 404 when no Prometheus exporter is running', async () => {
    const server = createServer((req, res) => serveMetrics(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    } finally {
      server.close();
    }
  });

  test('metric calls before startTelemetry are harmless no-ops; instruments follow the new provider', async () => {
    metrics.eventsRouted.add(5);
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const telemetry = startTelemetry({
      config: config(),
      serviceName: 'svc',
      metricReaders: [reader],
      spanProcessors: [],
    });
    try {
      metrics.eventsDeduplicated.add(2);
      await reader.forceFlush();
      const names = exporter
        .getMetrics()
        .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
        .map((m) => [m.descriptor.name, m.dataPoints.map((dp) => dp.value)]);
      expect(names).toEqual([['agent_bridge.events.deduplicated', [2]]]);
    } finally {
      await telemetry.shutdown();
    }
  });

  test('telemetry never crashes the service: OTLP export to an endpoint where nothing listens, shutdown resolves', async () => {
    const telemetry = startTelemetry({
      config: config({
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', // discard port: connection refused
        OTEL_EXPORTER_OTLP_TIMEOUT: 500,
      }),
      serviceName: 'svc',
      logger: silentLogger(),
    });
    expect(telemetry.started).toBe(true);
    trace.getTracer('t').startSpan('lost').end();
    metrics.eventsRouted.add(1);
    await expect(telemetry.shutdown()).resolves.toBeUndefined();
    // Idempotent.
    await expect(telemetry.shutdown()).resolves.toBeUndefined();
  });
});
