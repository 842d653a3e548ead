import { z } from 'zod';
import { authDefinition } from './schema-auth';
import { eventsDefinition } from './schema-events';
import { healthDefinition, leaderDefinition, membershipDefinition, recoveryDefinition } from './schema-leadership';
import { limitsDefinition } from './schema-limits';
import { redisDefinition } from './schema-redis';
import { bool, int, list, setting } from './setting';

/**
 * The one configuration schema of agent-bridge. Every timeout, retry policy, interval, threshold, limit,
 * key prefix and secret is here, with its default and description. `npm run config -- --explain` (or
 * `agent-bridge config --explain`) lists it; docs/configuration.md is generated from it.
 */
export const configDefinition = {
  instanceId: setting({
    env: 'AB_INSTANCE_ID',
    schema: z.string().min(1).max(128).optional(),
    description: 'Name of this process in membership records, logs and traces. Default: <hostname>-<pid>.',
  }),
  mode: setting({
    env: 'AB_MODE',
    schema: z.enum(['development', 'production']).optional(),
    description:
      'production refuses to start with a default or short secret, a default password or the demo sign-in on ' +
      '(SECURITY.md). Default: production when NODE_ENV=production, else development.',
  }),
  nodeEnv: setting({
    env: 'NODE_ENV',
    schema: z.string().optional(),
    description: 'Standard Node.js environment name; "production" turns on production mode unless AB_MODE is set.',
  }),
  port: setting({
    env: 'PORT',
    schema: int(0, 65535).optional(),
    description: 'HTTP port of this process; each service falls back to its own default port when unset.',
  }),
  logLevel: setting({
    env: 'LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    description: 'Minimum level of structured (pino) logs.',
  }),
  keyPrefix: setting({
    env: 'AB_KEY_PREFIX',
    schema: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." and "-" (1-64)'),
    default: 'ab',
    description: 'Prefix of every Redis key, channel and queue of this installation.',
  }),
  redis: redisDefinition,
  leader: leaderDefinition,
  health: healthDefinition,
  membership: membershipDefinition,
  recovery: recoveryDefinition,
  queues: {
    events: setting({
      env: 'AB_EVENTS_QUEUE',
      schema: z.string().regex(/^[A-Za-z0-9_-]+$/),
      default: 'agent-events',
      description:
        'BullMQ queue that agents publish events to (with AB_EVENT_PARTITIONS > 1, the base name of queues <name>-0 … <name>-N-1).',
    }),
    eventPartitions: setting({
      env: 'AB_EVENT_PARTITIONS',
      // Bound of @agent-bridge/protocol MAX_EVENT_PARTITIONS: each partition is a queue every replica consumes.
      schema: int(1, 64),
      default: 1,
      description:
        'Events queues, each under its own hash tag (one Redis Cluster slot each); a run goes to FNV-1a(run id) mod N. 1 keeps the single queue. Agents and bridges must agree (docs/protocol.md).',
    }),
    previousEventPartitions: setting({
      env: 'AB_EVENT_PARTITIONS_PREVIOUS',
      schema: int(0, 64),
      default: 0,
      description:
        'While changing AB_EVENT_PARTITIONS: the old count, whose queues bridges keep consuming until drained (docs/operations.md). 0: none.',
    }),
    control: setting({
      env: 'AB_CONTROL_QUEUE',
      schema: z.string().regex(/^[A-Za-z0-9_-]+$/),
      default: 'agent-bridge-control',
      description: 'BullMQ queue of recovery jobs.',
    }),
    deadLetter: setting({
      env: 'AB_DEAD_LETTER_QUEUE',
      schema: z.string().regex(/^[A-Za-z0-9_-]+$/),
      default: 'agent-events-dlq',
      description: 'BullMQ queue that keeps rejected jobs with the reason.',
    }),
    runs: setting({
      env: 'AB_RUNS_QUEUE',
      schema: z.string().regex(/^[A-Za-z0-9_-]+$/),
      default: 'agent-runs',
      description: 'BullMQ queue of run requests (start_run) that agent workers consume.',
    }),
  },
  events: eventsDefinition,
  gateway: {
    port: setting({
      env: 'AB_GATEWAY_PORT',
      schema: int(0, 65535),
      default: 8080,
      description: 'Port of a gateway when PORT is unset.',
    }),
    corsOrigins: setting({
      env: 'AB_CORS_ORIGINS',
      schema: list(z.string().min(1)),
      default: ['http://localhost:*', 'http://127.0.0.1:*'],
      description: 'Origins browsers may connect from ("*" allows any; "host:*" any port). Others are refused.',
    }),
    maxMessageBytes: setting({
      env: 'AB_GATEWAY_MAX_MESSAGE_BYTES',
      schema: int(256, 64 * 1024 * 1024),
      default: 16 * 1024,
      description: 'Largest message a client may send; larger ones close the connection.',
    }),
    chatPage: setting({
      env: 'AB_GATEWAY_CHAT_PAGE',
      schema: bool(),
      default: false,
      description:
        'Serve the demo chat page at / and the demo sign-in at /auth/demo (a token for any user name, no password). ' +
        'Development only: `npm start` turns it on; production mode refuses it.',
    }),
    resync: setting({
      env: 'AB_GATEWAY_RESYNC',
      schema: bool(),
      default: true,
      description:
        'After its adapter subscription was lost or stalled, a gateway replays from history what its rooms missed. Off only to demonstrate the fault (the nemesis, tests); refused in production.',
    }),
    subscriberPingIntervalMs: setting({
      env: 'AB_GATEWAY_SUB_PING_INTERVAL_MS',
      schema: int(100, 600_000),
      default: 1_000,
      description: 'How often a gateway PINGs its adapter subscriber connection to detect a stalled link.',
    }),
    subscriberPingTimeoutMs: setting({
      env: 'AB_GATEWAY_SUB_PING_TIMEOUT_MS',
      schema: int(100, 600_000),
      default: 2_000,
      description:
        'A subscriber PING unanswered (or a subscriber not ready) this long counts as a stalled link: the gateway reconnects it and catches up.',
    }),
  },
  bridge: {
    port: setting({
      env: 'AB_BRIDGE_PORT',
      schema: int(0, 65535),
      default: 8090,
      description: 'HTTP port (health, status, metrics) of a bridge replica when PORT is unset.',
    }),
    adminToken: setting({
      env: 'AB_BRIDGE_ADMIN_TOKEN',
      schema: z.string().min(16, 'at least 16 characters').optional(),
      description:
        'Bearer token of the admin endpoints (/integration/*). Unset: the admin listener is off. Production mode ' +
        'requires at least 32 characters.',
      secret: 'value',
    }),
    adminHost: setting({
      env: 'AB_BRIDGE_ADMIN_HOST',
      schema: z.string().min(1),
      default: '127.0.0.1',
      description: 'Interface of the admin listener: loopback only unless you set another (e.g. 0.0.0.0).',
    }),
    adminPort: setting({
      env: 'AB_BRIDGE_ADMIN_PORT',
      schema: int(0, 65535),
      default: 8190,
      description: 'Port of the admin listener (0: any free port, logged at start).',
    }),
  },
  ops: {
    port: setting({
      env: 'AB_OPS_PORT',
      schema: int(0, 65535),
      default: 8070,
      description: 'Port of the ops service (Bull Board, status page, JSON API) when PORT is unset.',
    }),
    username: setting({
      env: 'AB_OPS_USERNAME',
      schema: z.string().min(1),
      default: 'ops',
      description: 'User name for Bull Board and the ops API (HTTP basic auth).',
    }),
    password: setting({
      env: 'AB_OPS_PASSWORD',
      schema: z.string().min(8, 'at least 8 characters').optional(),
      default: 'change-me-ops',
      description:
        'Password for Bull Board and the ops API. The default is for development only: production mode ' +
        'requires one of at least 12 characters.',
      secret: 'value',
      devOnlyDefault: true,
    }),
    readOnly: setting({
      env: 'AB_OPS_READ_ONLY',
      schema: bool(),
      default: true,
      description: 'Bull Board refuses retries, removals and other writes.',
    }),
    refreshMs: setting({
      env: 'AB_OPS_REFRESH_MS',
      schema: int(100, 600_000),
      default: 1_000,
      description: 'How often the live status page refreshes (and the ops metrics poll queue depth).',
    }),
    sampleIntervalMs: setting({
      env: 'AB_OPS_SAMPLE_INTERVAL_MS',
      schema: int(500, 60_000),
      default: 5_000,
      description:
        'How often the ops service samples throughput, latency, queues, connections, dead letters and the ' +
        'leader into the chart ring (one sample per interval cluster-wide, whatever the number of ops replicas).',
    }),
    sampleWindowMs: setting({
      env: 'AB_OPS_SAMPLE_WINDOW_MS',
      schema: int(60_000, 3_600_000),
      default: 900_000,
      description: 'How far back the chart ring of the status page reaches; older samples are trimmed.',
    }),
  },
  auth: authDefinition,
  telemetry: {
    serviceName: setting({
      env: 'OTEL_SERVICE_NAME',
      schema: z.string().min(1).optional(),
      description: 'service.name resource attribute; each service defaults to its own name.',
    }),
    exporterEndpoint: setting({
      env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      schema: z.url().optional(),
      description: 'OTLP/HTTP endpoint of traces and metrics (e.g. http://localhost:4318).',
    }),
    tracesExporter: setting({
      env: 'OTEL_TRACES_EXPORTER',
      schema: z.enum(['otlp', 'console', 'none']),
      default: 'none',
      description: 'Trace exporter. Default none: set otlp (with an endpoint) to export.',
    }),
    metricsExporter: setting({
      env: 'OTEL_METRICS_EXPORTER',
      schema: z.enum(['otlp', 'prometheus', 'none']),
      default: 'prometheus',
      description: 'Metrics exporter: prometheus serves /metrics on the service port; otlp pushes.',
    }),
    metricExportIntervalMs: setting({
      env: 'OTEL_METRIC_EXPORT_INTERVAL',
      schema: int(100, 3_600_000),
      default: 10_000,
      description: 'Push interval of the OTLP metric exporter.',
    }),
    exporterProtocol: setting({
      env: 'OTEL_EXPORTER_OTLP_PROTOCOL',
      schema: z.enum(['http/protobuf', 'http/json']),
      default: 'http/protobuf',
      description: 'OTLP encoding of traces and metrics sent to OTEL_EXPORTER_OTLP_ENDPOINT (gRPC is not used).',
    }),
    exportTimeoutMs: setting({
      env: 'OTEL_EXPORTER_OTLP_TIMEOUT',
      schema: int(100, 600_000),
      default: 10_000,
      description: 'Deadline of one OTLP export request; a missing collector never blocks the service longer.',
    }),
    spanExportDelayMs: setting({
      env: 'OTEL_BSP_SCHEDULE_DELAY',
      schema: int(10, 600_000),
      default: 2_000,
      description: 'How often finished spans are batched to the OTLP exporter.',
    }),
  },
  limits: limitsDefinition,
  demoAgent: {
    name: setting({
      env: 'AB_DEMO_AGENT_NAME',
      schema: z.string().min(1).max(64),
      default: 'demo-agent',
      description: 'Agent name the demo agent reports in agent_started (start_run jobs for any agent are served).',
    }),
    concurrency: setting({
      env: 'AB_DEMO_AGENT_CONCURRENCY',
      schema: int(1, 1_000),
      default: 4,
      description: 'Runs one demo-agent process executes at once (BullMQ worker concurrency).',
    }),
    paceMs: setting({
      env: 'AB_DEMO_AGENT_PACE_MS',
      schema: int(0, 10_000),
      default: 40,
      description: 'Pause between two thinking deltas (and around tool calls) so a human sees it stream; 0 in tests.',
    }),
  },
  shutdown: {
    timeoutMs: setting({
      env: 'AB_SHUTDOWN_TIMEOUT_MS',
      schema: int(100, 600_000),
      default: 10_000,
      description: 'Deadline of a graceful shutdown after SIGTERM/SIGINT; then the process exits anyway.',
    }),
  },
};
