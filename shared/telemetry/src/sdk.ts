import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { AppConfig } from '@agent-bridge/config';
import {
  type DiagLogger,
  DiagLogLevel,
  context as contextApi,
  diag,
  metrics as metricsApi,
  propagation,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter as OTLPMetricExporterJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { type IMetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import { metrics, type AgentBridgeMetrics } from './metrics';
import { setTracingDefaults } from './tracing';

export interface StartTelemetryOptions {
  config: AppConfig;
  /** Default `service.name` (config `OTEL_SERVICE_NAME` wins). */
  serviceName: string;
  /** Where SDK diagnostics (failed exports, ...) go. @defaultValue none */
  logger?: Logger;
  /** Replace the configured span processors (tests: an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  /** Replace the configured metric readers (tests). */
  metricReaders?: IMetricReader[];
}

/** A started telemetry SDK. */
export interface Telemetry {
  /** Whether the SDK started (false: it failed and telemetry is off; the service runs on). */
  readonly started: boolean;
  /** The metrics of agent-bridge (the same object as the `metrics` export). */
  readonly metrics: AgentBridgeMetrics;
  /**
   * Serves the Prometheus text format (mount it at `GET /metrics`), or null when OTEL_METRICS_EXPORTER is
   * not `prometheus`. Node `http` request/response; in fastify: `reply.hijack(); handler(req.raw, reply.raw)`.
   */
  readonly metricsHandler: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  /** Flushes and stops exporting (idempotent). Never rejects, even when no collector listens. */
  shutdown(): Promise<void>;
}

function diagLogger(logger: Logger): DiagLogger {
  const child = logger.child({ component: 'otel' });
  return {
    error: (msg, ...args) => child.warn({ args }, msg),
    warn: (msg, ...args) => child.warn({ args }, msg),
    info: (msg, ...args) => child.debug({ args }, msg),
    debug: (msg, ...args) => child.trace({ args }, msg),
    verbose: (msg, ...args) => child.trace({ args }, msg),
  };
}

function signalUrl(endpoint: string | undefined, signal: 'traces' | 'metrics'): string | undefined {
  if (!endpoint) return undefined;
  return `${endpoint.replace(/\/+$/, '')}/v1/${signal}`;
}

function spanProcessorsFromConfig(config: AppConfig): SpanProcessor[] {
  const t = config.telemetry;
  if (t.tracesExporter === 'none') return [];
  if (t.tracesExporter === 'console') return [new BatchSpanProcessor({ exporter: new ConsoleSpanExporter() })];
  const options = { url: signalUrl(t.exporterEndpoint, 'traces'), timeoutMillis: t.exportTimeoutMs };
  const exporter =
    t.exporterProtocol === 'http/json' ? new OTLPTraceExporterJson(options) : new OTLPTraceExporterProto(options);
  return [
    new BatchSpanProcessor({
      exporter,
      scheduledDelayMillis: t.spanExportDelayMs,
      exportTimeoutMillis: t.exportTimeoutMs,
    }),
  ];
}

function metricReadersFromConfig(config: AppConfig): {
  readers: IMetricReader[];
  prometheus: PrometheusExporter | null;
} {
  const t = config.telemetry;
  if (t.metricsExporter === 'none') return { readers: [], prometheus: null };
  if (t.metricsExporter === 'prometheus') {
    // No server of its own: services mount the handler on their HTTP port (one port per process).
    const prometheus = new PrometheusExporter({ preventServerStart: true });
    return { readers: [prometheus], prometheus };
  }
  const options = { url: signalUrl(t.exporterEndpoint, 'metrics'), timeoutMillis: t.exportTimeoutMs };
  const exporter =
    t.exporterProtocol === 'http/json' ? new OTLPMetricExporterJson(options) : new OTLPMetricExporterProto(options);
  return {
    readers: [
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: t.metricExportIntervalMs,
        exportTimeoutMillis: Math.min(t.exportTimeoutMs, t.metricExportIntervalMs),
      }),
    ],
    prometheus: null,
  };
}

// The Prometheus handler of the telemetry started in this process, for serveMetrics().
let currentMetricsHandler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;

/**
 * Answers a `GET /metrics` request with the Prometheus text format of this process's metrics (404 when
 * telemetry is not started with OTEL_METRICS_EXPORTER=prometheus). For HTTP servers that do not get the
 * {@link Telemetry} object; in fastify: `reply.hijack(); serveMetrics(request.raw, reply.raw)`.
 */
export function serveMetrics(req: IncomingMessage, res: ServerResponse): void {
  if (currentMetricsHandler) {
    currentMetricsHandler(req, res);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('metrics are not served here (OTEL_METRICS_EXPORTER is not prometheus)\n');
}

/**
 * Starts the OpenTelemetry Node SDK for a service: call it first in `main.ts`, before anything else.
 * Configured by `config.telemetry` (the standard `OTEL_*` variables); resource attributes `service.name`
 * and `service.instance.id` (= config.instanceId). Trace context is W3C `traceparent`.
 *
 * It never crashes the process: a failure to start is logged and leaves telemetry off; export failures
 * are logged at warn; `shutdown()` never rejects.
 */
export function startTelemetry(options: StartTelemetryOptions): Telemetry {
  const { config, logger } = options;
  const serviceName = config.telemetry.serviceName ?? options.serviceName;
  setTracingDefaults({ eventsQueue: config.queues.events });
  if (logger) diag.setLogger(diagLogger(logger), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });

  let sdk: NodeSDK | null = null;
  let prometheus: PrometheusExporter | null = null;
  try {
    const configured = metricReadersFromConfig(config);
    prometheus = options.metricReaders ? null : configured.prometheus;
    sdk = new NodeSDK({
      serviceName,
      resource: defaultResource().merge(
        resourceFromAttributes({
          'service.name': serviceName,
          'service.instance.id': config.instanceId,
          'host.name': hostname(),
        }),
      ),
      // No detectors: the default ones would replace our instance id with a random one, and the host
      // detector's asynchronous host.id makes early exports and scrapes warn.
      resourceDetectors: [],
      textMapPropagator: new W3CTraceContextPropagator(),
      spanProcessors: options.spanProcessors ?? spanProcessorsFromConfig(config),
      metricReaders: options.metricReaders ?? configured.readers,
      // Logs go through pino to stdout; no OTLP log exporter (it would default to localhost:4318).
      logRecordProcessors: [],
      instrumentations: [],
    });
    sdk.start();
  } catch (err) {
    logger?.warn({ err }, 'telemetry failed to start; running without it');
    sdk = null;
    prometheus = null;
  }

  let closing: Promise<void> | null = null;
  const started = sdk !== null;
  const handler = prometheus
    ? (req: IncomingMessage, res: ServerResponse): void => prometheus.getMetricsRequestHandler(req, res)
    : null;
  currentMetricsHandler = handler;
  return {
    started,
    metrics,
    metricsHandler: handler,
    shutdown(): Promise<void> {
      closing ??= (async () => {
        if (!sdk) return;
        try {
          await sdk.shutdown();
        } catch (err) {
          // Nothing listening on the OTLP endpoint makes the final flush reject: not a reason to fail a shutdown.
          logger?.warn({ err }, 'telemetry shutdown: final export failed');
        } finally {
          if (currentMetricsHandler === handler) currentMetricsHandler = null;
          // Let a later startTelemetry() (tests, restarts in one process) register fresh providers.
          trace.disable();
          metricsApi.disable();
          propagation.disable();
          contextApi.disable();
        }
      })();
      return closing;
    },
  };
}
