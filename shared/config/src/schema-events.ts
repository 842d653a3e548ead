import { int, setting } from './setting';

/** The event pipeline: the agent-events workers, payload and queue bounds, history, ordering, replay, publishing, thinking coalescing. */
export const eventsDefinition = {
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
};
