import { z } from 'zod';
import { limitsDefinition } from './schema-limits';
import { bool, int, list, num, redisUrl, setting } from './setting';

const hostPort = z.string().regex(/^[^:\s]+:\d{1,5}$/, 'host:port');

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
  redis: {
    url: setting({
      env: 'REDIS_URL',
      schema: redisUrl(),
      default: 'redis://127.0.0.1:6379',
      description: 'Data Redis (standalone). redis:// or rediss:// (TLS), with optional ACL user:password and /db.',
      secret: 'url',
    }),
    mode: setting({
      env: 'REDIS_MODE',
      schema: z.enum(['standalone', 'cluster', 'sentinel']),
      default: 'standalone',
      description: 'standalone: REDIS_URL. cluster: REDIS_CLUSTER_NODES. sentinel: REDIS_SENTINELS + name.',
    }),
    clusterNodes: setting({
      env: 'REDIS_CLUSTER_NODES',
      schema: list(hostPort),
      default: [],
      description: 'Seed nodes (host:port, comma-separated) of a Redis Cluster, for REDIS_MODE=cluster.',
    }),
    sentinels: setting({
      env: 'REDIS_SENTINELS',
      schema: list(hostPort),
      default: [],
      description: 'Sentinels (host:port, comma-separated), for REDIS_MODE=sentinel.',
    }),
    sentinelName: setting({
      env: 'REDIS_SENTINEL_NAME',
      schema: z.string().min(1),
      default: 'mymaster',
      description: 'Name of the master the sentinels watch.',
    }),
    lockUrls: setting({
      env: 'REDIS_LOCK_URLS',
      schema: list(redisUrl()),
      default: [],
      description:
        'Independent Redis masters for the leader lease (Redlock quorum). Empty: the lease lives in REDIS_URL.',
      secret: 'url',
    }),
    connectTimeoutMs: setting({
      env: 'REDIS_CONNECT_TIMEOUT_MS',
      schema: int(100, 600_000),
      default: 5_000,
      description: 'Timeout of one connection attempt.',
    }),
    commandTimeoutMs: setting({
      env: 'REDIS_COMMAND_TIMEOUT_MS',
      schema: int(100, 600_000),
      default: 5_000,
      description: 'Timeout of one command on fail-fast (producer / request) connections.',
    }),
    waitReplicas: setting({
      env: 'REDIS_WAIT_REPLICAS',
      schema: int(0, 16),
      default: 0,
      description:
        'Producers (agent SDK) acknowledge a run registration or an emit only once this many replicas hold it ' +
        '(Redis WAIT); otherwise the write is retried. 1 with Sentinel, so a failover cannot lose an acknowledged ' +
        'event (docs/decisions/0005). 0: acknowledge on the master alone.',
    }),
    waitTimeoutMs: setting({
      env: 'REDIS_WAIT_TIMEOUT_MS',
      schema: int(10, 60_000),
      default: 1_000,
      description: 'How long a producer waits for REDIS_WAIT_REPLICAS replicas before it retries the write.',
    }),
    tlsCaFile: setting({
      env: 'REDIS_TLS_CA_FILE',
      schema: z.string().min(1).optional(),
      description: 'PEM file of the CA that signed the Redis server certificate (rediss:// with a private CA).',
    }),
    requireNoeviction: setting({
      env: 'REDIS_REQUIRE_NOEVICTION',
      schema: bool(),
      default: true,
      description: 'Refuse to start when maxmemory-policy is not noeviction (BullMQ needs it); false only warns.',
    }),
  },
  leader: {
    leaseTtlMs: setting({
      env: 'AB_LEADER_LEASE_TTL_MS',
      schema: int(500, 600_000),
      default: 3_000,
      description: 'Validity of the leader lease. A dead leader is replaced within about this plus retryDelayMs.',
    }),
    extendBeforeMs: setting({
      env: 'AB_LEADER_EXTEND_BEFORE_MS',
      schema: int(100, 600_000),
      default: 1_500,
      description: 'Extend the lease when it has this much validity left (must be below leaseTtlMs).',
    }),
    retryDelayMs: setting({
      env: 'AB_LEADER_RETRY_DELAY_MS',
      schema: int(10, 600_000),
      default: 500,
      description: 'Pause between acquisition attempts of a standby.',
    }),
    retryJitterMs: setting({
      env: 'AB_LEADER_RETRY_JITTER_MS',
      schema: int(0, 60_000),
      default: 200,
      description: 'Random extra pause (0..jitter) added to retryDelayMs, so standbys do not collide.',
    }),
    absentFailMs: setting({
      env: 'AB_LEADER_ABSENT_FAIL_MS',
      schema: int(100, 3_600_000),
      default: 3_000,
      description:
        'With no leader for this long (e.g. lock quorum lost), any replica publishes FAILED with a failing lease check. ' +
        'Keep it above a normal failover (about retryDelayMs + retryJitterMs without a leader record).',
    }),
    driftFactor: setting({
      env: 'AB_LEADER_DRIFT_FACTOR',
      schema: num(0, 0.5),
      default: 0.01,
      description: 'Clock drift allowance of the Redlock validity computation.',
    }),
  },
  health: {
    intervalMs: setting({
      env: 'AB_HEALTH_INTERVAL_MS',
      schema: int(100, 3_600_000),
      default: 2_000,
      description: 'How often the leader runs the health check and drives the state machine.',
    }),
    probeTimeoutMs: setting({
      env: 'AB_HEALTH_PROBE_TIMEOUT_MS',
      schema: int(50, 600_000),
      default: 2_000,
      description: 'Deadline of the end-to-end probe (bridge -> adapter -> gateways -> back).',
    }),
    probeLatencyWarnMs: setting({
      env: 'AB_HEALTH_PROBE_LATENCY_WARN_MS',
      schema: int(1, 600_000),
      default: 500,
      description: 'Probe round trip above this makes the integration DEGRADED.',
    }),
    queueLagWarnMs: setting({
      env: 'AB_HEALTH_QUEUE_LAG_WARN_MS',
      schema: int(1, 3_600_000),
      default: 5_000,
      description: 'Age of the oldest waiting event above this makes the integration DEGRADED.',
    }),
    minReplicas: setting({
      env: 'AB_HEALTH_MIN_REPLICAS',
      schema: int(1, 1000),
      default: 1,
      description: 'Fewer live bridge replicas than this makes the integration DEGRADED (zero: FAILED).',
    }),
    minGateways: setting({
      env: 'AB_HEALTH_MIN_GATEWAYS',
      schema: int(1, 1000),
      default: 1,
      description: 'Fewer live gateways than this makes the integration DEGRADED (zero: FAILED).',
    }),
    startupGraceMs: setting({
      env: 'AB_HEALTH_STARTUP_GRACE_MS',
      schema: int(0, 3_600_000),
      // 15 s still let 1 of 13 cold starts go FAILED on a 2-core machine at load 25 (processes took longer).
      default: 60_000,
      description:
        'While INITIALIZING (a cold start), failing checks keep the state INITIALIZING for this long after ' +
        'initialization began, so gateways and replicas starting alongside can register; then the checks decide.',
    }),
    degradedRecoveryAfter: setting({
      env: 'AB_HEALTH_DEGRADED_RECOVERY_AFTER',
      schema: int(1, 10_000),
      default: 5,
      description: 'Consecutive DEGRADED checks after which the leader schedules a recovery.',
    }),
    historyLength: setting({
      env: 'AB_HEALTH_HISTORY_LENGTH',
      schema: int(1, 100_000),
      default: 200,
      description: 'Transitions kept in the published state history.',
    }),
  },
  membership: {
    heartbeatIntervalMs: setting({
      env: 'AB_HEARTBEAT_INTERVAL_MS',
      schema: int(50, 600_000),
      default: 1_000,
      description: 'How often replicas and gateways refresh their membership record.',
    }),
    heartbeatTtlMs: setting({
      env: 'AB_HEARTBEAT_TTL_MS',
      schema: int(100, 3_600_000),
      default: 5_000,
      description: 'A member not seen for this long is dead; the leader removes its record.',
    }),
  },
  recovery: {
    attempts: setting({
      env: 'AB_RECOVERY_ATTEMPTS',
      schema: int(1, 1000),
      default: 8,
      description: 'Attempts of one recovery job before the incident is left FAILED.',
    }),
    backoffMs: setting({
      env: 'AB_RECOVERY_BACKOFF_MS',
      schema: int(1, 3_600_000),
      default: 500,
      description: 'Base delay of the exponential backoff between recovery attempts.',
    }),
    backoffMaxMs: setting({
      env: 'AB_RECOVERY_BACKOFF_MAX_MS',
      schema: int(1, 3_600_000),
      default: 30_000,
      description: 'Upper bound of one backoff delay.',
    }),
    jitter: setting({
      env: 'AB_RECOVERY_JITTER',
      schema: num(0, 1),
      default: 0.5,
      description: 'Random share of each backoff delay (0: none, 1: anywhere between 0 and the delay).',
    }),
  },
  queues: {
    events: setting({
      env: 'AB_EVENTS_QUEUE',
      schema: z.string().regex(/^[A-Za-z0-9_-]+$/),
      default: 'agent-events',
      description: 'BullMQ queue that agents publish events to.',
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
  events: {
    workerConcurrency: setting({
      env: 'AB_WORKER_CONCURRENCY',
      schema: int(1, 10_000),
      default: 64,
      description: 'Events each bridge replica processes at once.',
    }),
    lockDurationMs: setting({
      env: 'AB_WORKER_LOCK_DURATION_MS',
      schema: int(500, 600_000),
      default: 1_000,
      description:
        'BullMQ job lock (renewed every quarter of it): a replica killed mid-job releases its events after at most this long.',
    }),
    stalledIntervalMs: setting({
      env: 'AB_WORKER_STALLED_INTERVAL_MS',
      schema: int(100, 600_000),
      default: 250,
      description:
        "How often each replica looks for stalled jobs of dead replicas: one LLEN while idle, BullMQ's check while jobs are active. A dead replica's runs pause at most lock + this.",
    }),
    maxStalledCount: setting({
      env: 'AB_WORKER_MAX_STALLED_COUNT',
      schema: int(0, 1000),
      default: 10,
      description: 'Times a job may stall (its replica died) before it is failed.',
    }),
    jobAttempts: setting({
      env: 'AB_EVENT_ATTEMPTS',
      schema: int(1, 1000),
      default: 20,
      description: 'Attempts of one event job (a full reorder buffer retries it).',
    }),
    jobBackoffMs: setting({
      env: 'AB_EVENT_BACKOFF_MS',
      schema: int(1, 600_000),
      default: 50,
      description: 'Base delay of the exponential backoff of a retried event job.',
    }),
    maxPayloadBytes: setting({
      env: 'AB_MAX_PAYLOAD_BYTES',
      schema: int(64, 64 * 1024 * 1024),
      default: 64 * 1024,
      description: 'Largest event payload (JSON, UTF-8 bytes) an agent may emit.',
    }),
    maxQueueDepth: setting({
      env: 'AB_MAX_QUEUE_DEPTH',
      schema: int(1, 100_000_000),
      default: 200_000,
      description: 'Producers get a BackpressureError when this many events wait.',
    }),
    historyMaxLen: setting({
      env: 'AB_HISTORY_MAX_LEN',
      schema: int(10, 100_000_000),
      default: 10_000,
      description: 'Events kept per run history; older ones are trimmed (clients asking for them get recovered:false).',
    }),
    historyTtlMs: setting({
      env: 'AB_HISTORY_TTL_MS',
      schema: int(1_000, 365 * 24 * 3_600_000),
      default: 7 * 24 * 3_600_000,
      description: 'A run and its history expire this long after its last event.',
    }),
    reorderBufferMax: setting({
      env: 'AB_REORDER_BUFFER_MAX',
      schema: int(1, 1_000_000),
      default: 2_000,
      description: 'Early events held per run while an earlier seq is missing; beyond it jobs are retried.',
    }),
    gapTimeoutMs: setting({
      env: 'AB_GAP_TIMEOUT_MS',
      schema: int(100, 24 * 3_600_000),
      default: 30_000,
      description: 'A seq missing this long is declared lost: the leader commits a gap event in its place.',
    }),
    replayPageSize: setting({
      env: 'AB_REPLAY_PAGE_SIZE',
      schema: int(1, 100_000),
      default: 1_000,
      description: 'Most events returned by one subscribe ack; the client SDK pages through the rest.',
    }),
    publishBatchMax: setting({
      env: 'AB_PUBLISH_BATCH_MAX',
      schema: int(1, 100_000),
      default: 500,
      description: 'Most events the agent SDK enqueues in one BullMQ addBulk call (concurrent emits are batched).',
    }),
    publishRetryTimeoutMs: setting({
      env: 'AB_PUBLISH_RETRY_TIMEOUT_MS',
      schema: int(0, 3_600_000),
      default: 30_000,
      description: 'How long the agent SDK retries enqueueing an event (same event id) before the emit fails.',
    }),
    thinkingCoalesceMs: setting({
      env: 'AB_THINKING_COALESCE_MS',
      schema: int(0, 1_000),
      default: 25,
      description:
        'The agent SDK joins consecutive agent_thinking deltas of a run emitted within this window into one event (0 = off).',
    }),
    thinkingCoalesceMaxBytes: setting({
      env: 'AB_THINKING_COALESCE_MAX_BYTES',
      schema: int(16, 64 * 1024 * 1024),
      default: 4_096,
      description: 'A coalesced agent_thinking delta is sent once its JSON text reaches this size (bytes).',
    }),
    thinkingCoalesceMaxDeltas: setting({
      env: 'AB_THINKING_COALESCE_MAX_DELTAS',
      schema: int(1, 1_000_000),
      default: 256,
      description: 'A coalesced agent_thinking event is sent once it holds this many deltas.',
    }),
    queueDepthCheckMs: setting({
      env: 'AB_QUEUE_DEPTH_CHECK_MS',
      schema: int(10, 600_000),
      default: 1_000,
      description: 'Age after which the agent SDK refreshes its cached events-queue depth (backpressure check).',
    }),
    gapSweepBatch: setting({
      env: 'AB_GAP_SWEEP_BATCH',
      schema: int(1, 100_000),
      default: 1_000,
      description: 'Most runs one gap sweep looks at, and most gap events it commits per run per sweep.',
    }),
  },
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
        'After its adapter subscription was lost or stalled, a gateway replays from history what its rooms missed. Off only to demonstrate the fault.',
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
  auth: {
    jwtSecret: setting({
      env: 'AB_JWT_SECRET',
      schema: z.string().min(16, 'at least 16 characters').optional(),
      default: 'dev-only-insecure-jwt-secret',
      description:
        'HMAC secret that signs and verifies client tokens (HS256). The default is for development only: ' +
        'production mode requires one of at least 32 characters (or public keys only).',
      secret: 'value',
      devOnlyDefault: true,
    }),
    jwtKeyId: setting({
      env: 'AB_JWT_KEY_ID',
      schema: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
      default: 'hs-1',
      description:
        '`kid` of AB_JWT_SECRET: tokens signed with it carry this kid (a token without kid is tried with AB_JWT_SECRET).',
    }),
    jwtVerifySecrets: setting({
      env: 'AB_JWT_VERIFY_SECRETS',
      schema: list(z.string().regex(/^[A-Za-z0-9_.-]{1,64}=.{16,}$/, 'kid=secret (secret of at least 16 characters)')),
      default: [],
      description:
        'Further HS256 verification keys as kid=secret, comma-separated: the previous secrets during a rotation.',
      secret: 'value',
    }),
    jwtPublicKeysFile: setting({
      env: 'AB_JWT_PUBLIC_KEYS_FILE',
      schema: z.string().min(1).optional(),
      description:
        'JSON Web Key Set file (public ES256/RS256 keys, each with kid and alg): gateways verify tokens your ' +
        'identity service signs without holding any signing secret. Several keys: rotation.',
    }),
    jwtAlgorithms: setting({
      env: 'AB_JWT_ALGORITHMS',
      schema: list(z.enum(['HS256', 'ES256', 'RS256'])),
      default: ['HS256', 'ES256', 'RS256'],
      description: 'Signature algorithms accepted in client tokens (never "none").',
    }),
    jwtMaxLifetimeMs: setting({
      env: 'AB_JWT_MAX_LIFETIME_MS',
      schema: int(1_000, 30 * 24 * 3_600_000),
      default: 24 * 3_600_000,
      description: 'Longest token lifetime accepted (exp - iat, or exp - now without iat); longer ones are refused.',
    }),
    jwtClockToleranceMs: setting({
      env: 'AB_JWT_CLOCK_TOLERANCE_MS',
      schema: int(0, 300_000),
      default: 5_000,
      description: 'Clock skew allowed between the token issuer and the gateway (exp, nbf, iat).',
    }),
    expiryWarningMs: setting({
      env: 'AB_TOKEN_EXPIRY_WARNING_MS',
      schema: int(0, 3_600_000),
      default: 60_000,
      description:
        'A connected socket gets `token_expiring` this long before its token expires; without a `reauth` with a ' +
        'fresh token it is disconnected at expiry.',
    }),
    jwtIssuer: setting({
      env: 'AB_JWT_ISSUER',
      schema: z.string().min(1),
      default: 'agent-bridge',
      description: 'Required `iss` claim of client tokens.',
    }),
    jwtAudience: setting({
      env: 'AB_JWT_AUDIENCE',
      schema: z.string().min(1),
      default: 'agent-bridge',
      description: 'Required `aud` claim of client tokens.',
    }),
    tokenTtlMs: setting({
      env: 'AB_TOKEN_TTL_MS',
      schema: int(1_000, 30 * 24 * 3_600_000),
      default: 3_600_000,
      description: 'Lifetime of tokens issued by the demo sign-in.',
    }),
  },
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
