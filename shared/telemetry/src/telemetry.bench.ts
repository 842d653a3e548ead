// Cost of telemetry on the event path: the spans of one event (emit PRODUCER + traceparent into the
// envelope + JSON round trip + commit CONSUMER + delivery PRODUCER) and one metric call, with telemetry off
// (no SDK: no-op API) and on (SDK with a batching processor to an exporter that drops everything).
// Run: node --conditions=@agent-bridge/source --import tsx shared/telemetry/src/telemetry.bench.ts
import { loadConfig } from '@agent-bridge/config';
import { ExportResultCode } from '@opentelemetry/core';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace';
import { PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { metrics } from './metrics';
import { startTelemetry } from './sdk';
import { injectTraceparent, startConsumerSpan, startDeliverySpan, startProducerSpan } from './tracing';

const N = 50_000;

const dropSpans: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: () => Promise.resolve(),
};
const dropMetrics: PushMetricExporter = {
  export: (_m, done) => done({ code: ExportResultCode.SUCCESS }),
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

function eventPath(i: number): void {
  const producer = startProducerSpan('run-bench', 'agent_thinking', { eventId: `e${i}` });
  const envelope = {
    id: `e${i}`,
    runId: 'run-bench',
    seq: i + 1,
    type: 'agent_thinking',
    traceparent: injectTraceparent(producer),
  };
  producer.end();
  const wire = JSON.parse(JSON.stringify(envelope)) as typeof envelope;
  startConsumerSpan(wire).end();
  startDeliverySpan(wire).end();
}

function measure(label: string, fn: (i: number) => void): void {
  for (let i = 0; i < 2_000; i++) fn(i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - t0);
  process.stdout.write(
    `${label.padEnd(48)} ${(ns / N / 1000).toFixed(2).padStart(7)} µs/op  ${Math.round(N / (ns / 1e9))
      .toLocaleString('en')
      .padStart(10)} ops/s\n`,
  );
}

async function main(): Promise<void> {
  process.stdout.write(`telemetry overhead, ${N.toLocaleString('en')} iterations each (node ${process.version})\n`);
  measure('event path (3 spans), telemetry off', eventPath);
  measure('metrics.eventsRouted.add(1), telemetry off', () => metrics.eventsRouted.add(1));

  const config = loadConfig({ env: {}, overrides: { AB_INSTANCE_ID: 'bench' } });
  const telemetry = startTelemetry({
    config,
    serviceName: 'bench',
    spanProcessors: [new BatchSpanProcessor({ exporter: dropSpans, maxQueueSize: 100_000, maxExportBatchSize: 2_048 })],
    metricReaders: [new PeriodicExportingMetricReader({ exporter: dropMetrics, exportIntervalMillis: 60_000 })],
  });
  measure('event path (3 spans), telemetry on', eventPath);
  measure('metrics.eventsRouted.add(1), telemetry on', () => metrics.eventsRouted.add(1));
  measure('metrics.endToEndLatency.record(ms), telemetry on', (i) => metrics.endToEndLatency.record(i % 500));
  await telemetry.shutdown();
}

void main();
