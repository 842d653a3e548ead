import type { AppConfig } from '@agent-bridge/config';
import {
  AgentBridgeError,
  type DeadLetterRecord,
  ErrorCode,
  EventBatchJobSchema,
  type EventEnvelope,
  EventEnvelopeSchema,
  IllegalStateError,
  JobName,
  type KeyLayout,
  StandardEventType,
  type WireError,
  describeIssues,
  jsonSize,
  keyLayout,
  toIssues,
  validateEvent,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { type Logger, consumeWithSpan, failSpan, metrics, startConsumerSpan } from '@agent-bridge/telemetry';
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { type CommitResult, commitEvent, commitEvents } from './commit';
import { RoomPublisher } from './room-publisher';

/** Options of an {@link EventRouter}. */
export interface EventRouterOptions {
  config: AppConfig;
  /** Command-role connection (Lua commits, PUBLISH, dead-letter queue). Never closed by the router. */
  connection: RedisConnection;
  /** Worker-role connection (`maxRetriesPerRequest: null`) for the BullMQ Worker. Never closed by the router. */
  workerConnection: RedisConnection;
  logger: Logger;
}

/** Lifecycle of an {@link EventRouter}. */
export type EventRouterState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/** Counters and state of an {@link EventRouter}, for health endpoints. */
export interface EventRouterStatus {
  state: EventRouterState;
  queue: string;
  concurrency: number;
  /** Jobs currently being processed by this replica. */
  inFlight: number;
  /** Jobs taken from the queue (every attempt). */
  processed: number;
  /** Events appended to histories (including ones released from reorder buffers). */
  committed: number;
  /** Events parked in a reorder buffer. */
  buffered: number;
  /** Jobs whose event was already committed or buffered (retries, redeliveries). */
  duplicates: number;
  /** Jobs re-delayed because their run's reorder buffer was full. */
  delayedFull: number;
  /** Jobs moved to the dead-letter queue. */
  deadLettered: number;
  /** Jobs that threw (Redis errors); BullMQ retries them. */
  errors: number;
  /**
   * The latest worker or job error since this replica last completed a job; null once it completes one
   * again (a "Missing lock" left by a pause the replica has recovered from does not linger on `/status`).
   */
  lastError: string | null;
  /** When `lastError` happened (epoch ms), or null. */
  lastErrorAt: number | null;
}

/** A rejected job: moved to the dead-letter queue with this reason, never retried. */
class Rejected extends Error {
  constructor(readonly reason: WireError) {
    super(reason.message);
  }
}

/**
 * Routes agent events: a BullMQ Worker on the events queue commits each job atomically and idempotently
 * into its run's ordered history (`lua/commit-event-3.lua`); the same atomic script publishes what it
 * appended to the run's Socket.IO room (`agent_event`) through the Redis adapter channel.
 *
 * Guarantees: per-run order by `seq` whatever order jobs arrive in (early ones wait in the run's bounded
 * reorder buffer), exactly one history entry per `seq`, live publishes in commit (= seq) order and never
 * a commit without its publish (both happen in one script), duplicates are no-ops that re-publish the
 * committed envelope, and invalid jobs go to the dead-letter queue with the reason and never block other
 * runs. Runs on every replica; needs no leader. Pub/Sub itself is at-most-once: clients dedupe by `seq`
 * and fill holes from history.
 */
export class EventRouter {
  private state: EventRouterState = 'idle';
  private worker: Worker | null = null;
  private deadLetters: Queue | null = null;
  private closing: Promise<void> | null = null;
  private readonly keys: KeyLayout;
  private readonly publisher: RoomPublisher;
  private readonly config: AppConfig;
  private readonly connection: RedisConnection;
  private readonly workerConnection: RedisConnection;
  private readonly logger: Logger;
  private readonly counters = {
    inFlight: 0,
    processed: 0,
    committed: 0,
    buffered: 0,
    duplicates: 0,
    delayedFull: 0,
    deadLettered: 0,
    errors: 0,
  };
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;

  constructor(options: EventRouterOptions) {
    this.config = options.config;
    this.connection = options.connection;
    this.workerConnection = options.workerConnection;
    this.logger = options.logger.child({ component: 'event-router' });
    this.keys = keyLayout(this.config.keyPrefix);
    this.publisher = new RoomPublisher(this.connection, this.keys);
  }

  /** Starts consuming the events queue. Idempotent while running; throws after close. */
  async start(): Promise<void> {
    if (this.state === 'running' || this.state === 'starting') return;
    if (this.state !== 'idle') throw new IllegalStateError(this.state, 'start the event router');
    this.state = 'starting';
    const { config } = this;
    this.deadLetters = new Queue(config.queues.deadLetter, {
      connection: this.connection,
      prefix: this.keys.bullPrefix,
    });
    // Each job is processed inside its event's commit span (CONSUMER), parented by the envelope's traceparent.
    const traced = { queue: config.queues.events, expectedError: (err: unknown) => err instanceof DelayedError };
    // A batch job is traced as its first event (its commit span continues that emit's trace).
    const processor = (job: Job, token: string | undefined): Promise<string> =>
      consumeWithSpan(
        job.name === JobName.Events ? ((job.data as { events?: unknown[] } | null)?.events?.[0] ?? job.data) : job.data,
        { ...traced, fallbackId: job.id },
        () => this.process(job, token),
      );
    const worker = new Worker(config.queues.events, processor, {
      connection: this.workerConnection,
      prefix: this.keys.bullPrefix,
      // Recorded on each job as `processedBy` (ops can see which replica holds a job).
      name: config.instanceId,
      concurrency: config.events.workerConcurrency,
      lockDuration: config.events.lockDurationMs,
      stalledInterval: config.events.stalledIntervalMs,
      maxStalledCount: config.events.maxStalledCount,
      // Committed events live in the run histories; the queue keeps a short tail for inspection only.
      removeOnComplete: { count: 1_000 },
      removeOnFail: { count: 10_000 },
      autorun: false,
    });
    worker.on('error', (err) => {
      this.noteError(err);
      this.logger.error({ err }, 'events worker error');
    });
    // Processing again: an earlier error is history (it stays in the log), not the replica's state.
    worker.on('completed', () => this.clearError());
    worker.on('failed', (job, err) => {
      if (err instanceof DelayedError) return;
      this.logger.warn({ jobId: job?.id, err: err.message }, 'event job failed; BullMQ retries it');
    });
    this.worker = worker;
    worker.run().catch((err: unknown) => {
      this.noteError(err);
      this.logger.error({ err }, 'events worker stopped');
    });
    await worker.waitUntilReady();
    if (this.state === 'starting') this.state = 'running';
    this.logger.info(
      { queue: config.queues.events, concurrency: config.events.workerConcurrency },
      'event router consuming',
    );
  }

  /**
   * Stops taking jobs, waits for the jobs in flight to finish (commit and publish), and closes the worker
   * and dead-letter queue. Idempotent; every step runs even if one fails. Connections are not closed.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closing';
      const steps: Promise<unknown>[] = [];
      if (this.worker) steps.push(this.worker.close());
      const results = await Promise.allSettled(steps);
      const dlq = await Promise.allSettled(this.deadLetters ? [this.deadLetters.close()] : []);
      for (const r of [...results, ...dlq]) {
        if (r.status === 'rejected') this.logger.warn({ err: r.reason as unknown }, 'event router close step failed');
      }
      this.state = 'closed';
    })();
    return this.closing;
  }

  /** Current state and counters. */
  getStatus(): EventRouterStatus {
    return {
      state: this.state,
      queue: this.config.queues.events,
      concurrency: this.config.events.workerConcurrency,
      ...this.counters,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
    };
  }

  private noteError(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.lastErrorAt = Date.now();
  }

  private clearError(): void {
    this.lastError = null;
    this.lastErrorAt = null;
  }

  private async process(job: Job, token: string | undefined): Promise<string> {
    this.counters.processed++;
    this.counters.inFlight++;
    try {
      if (job.name === JobName.Events) return await this.processBatch(job, token);
      const event = this.validate(job.data);
      const result = await commitEvent(this.connection, this.keys, this.config, event);
      return await this.handle(job, token, event, result);
    } catch (err) {
      if (err instanceof Rejected) {
        await this.deadLetter(job, err.reason);
        return 'dead-lettered';
      }
      if (err instanceof DelayedError) throw err;
      this.counters.errors++;
      this.noteError(err);
      throw err;
    } finally {
      this.counters.inFlight--;
    }
  }

  /**
   * A batch job (`events`): each event is validated on its own (an invalid one is dead-lettered with its
   * reason, the others still commit); the valid ones are committed per run in seq order with one script
   * call each (atomic, idempotent). When a run's reorder buffer is full the whole job is delayed and
   * retried later: what it already committed is then a duplicate (a no-op).
   */
  private async processBatch(job: Job, token: string | undefined): Promise<string> {
    const outer = EventBatchJobSchema.safeParse(job.data);
    if (!outer.success) {
      const issues = toIssues(outer.error);
      throw new Rejected({
        code: ErrorCode.InvalidEvent,
        message: `invalid events batch job: ${describeIssues(issues)}`,
        details: { issues },
      });
    }
    const runs = new Map<string, EventEnvelope[]>();
    const rejected: Promise<void>[] = [];
    for (const [index, data] of outer.data.events.entries()) {
      try {
        const event = this.validate(data);
        let list = runs.get(event.runId);
        if (!list) runs.set(event.runId, (list = []));
        list.push(event);
      } catch (err) {
        if (!(err instanceof Rejected)) throw err;
        rejected.push(this.deadLetter(job, err.reason, { index, data }));
      }
    }
    await Promise.all(rejected);
    // The job runs in the commit span of its first event (see start()); every other event gets its own
    // commit span in its emit's trace.
    const first: unknown = outer.data.events[0];
    const spans = new Map<EventEnvelope, ReturnType<typeof startConsumerSpan>>();
    for (const events of runs.values()) {
      for (const event of events) {
        if (event.id === (first as { id?: unknown } | null)?.id) continue;
        spans.set(event, startConsumerSpan(event, { queue: this.config.queues.events }));
      }
    }
    let outcomes: ('ok' | 'full')[];
    try {
      outcomes = await Promise.all(
        [...runs.values()].map(async (events) => {
          events.sort((a, b) => a.seq - b.seq);
          const results = await commitEvents(this.connection, this.keys, this.config, events);
          for (const [i, result] of results.entries()) {
            const span = spans.get(events[i]!);
            span?.setAttribute('agent_bridge.outcome', result.outcome);
            span?.end();
            spans.delete(events[i]!);
          }
          return this.handleBatch(job, events, results);
        }),
      );
    } catch (err) {
      for (const span of spans.values()) failSpan(span, err);
      throw err;
    }
    if (outcomes.includes('full')) {
      // Some run waits for a missing seq and its buffer is full: retry the job later (see handle()).
      this.counters.delayedFull++;
      const delay = Math.min(this.config.events.jobBackoffMs * 2 ** Math.min(job.attemptsStarted, 10), 5_000);
      this.logger.debug({ jobId: job.id, delay }, 'reorder buffer full; batch job delayed');
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
    return rejected.length > 0 ? 'partly dead-lettered' : 'committed';
  }

  /** Accounts for the results of one run's events of a batch job; 'full' when any could not be buffered. */
  private async handleBatch(job: Job, events: EventEnvelope[], results: CommitResult[]): Promise<'ok' | 'full'> {
    let full = false;
    const republish: EventEnvelope[] = [];
    const steps: Promise<unknown>[] = [];
    const last = results.at(-1);
    if (last?.hasBuffered) steps.push(this.connection.zadd(this.keys.gappedRuns, last.gapSince, events[0]!.runId));
    for (const [i, result] of results.entries()) {
      const event = events[i]!;
      switch (result.outcome) {
        case 'committed':
          this.counters.committed += result.envelopes.length;
          metrics.eventsRouted.add(result.envelopes.length);
          metrics.commitLatency.record(Math.max(0, Date.now() - event.ts));
          break;
        case 'duplicate':
          this.counters.duplicates++;
          metrics.eventsDeduplicated.add(1);
          republish.push(...result.envelopes);
          break;
        case 'buffered':
          this.counters.buffered++;
          break;
        case 'conflict':
          steps.push(this.deadLetter(job, conflictReason(event, result), { index: i, data: event }));
          break;
        case 'full':
          full = true;
          break;
        default:
          throw new Error(`unexpected commit outcome ${String(result.outcome)}`);
      }
    }
    if (republish.length > 0) {
      republish.sort((a, b) => a.seq - b.seq);
      steps.push(this.publisher.publish(republish));
    }
    await Promise.all(steps);
    return full ? 'full' : 'ok';
  }

  private validate(data: unknown): EventEnvelope {
    const parsed = EventEnvelopeSchema.safeParse(data);
    if (!parsed.success) {
      const issues = toIssues(parsed.error);
      throw new Rejected({
        code: ErrorCode.InvalidEvent,
        message: `invalid event envelope: ${describeIssues(issues)}`,
        details: { issues },
      });
    }
    const event = parsed.data;
    try {
      // The same content check the agent SDK runs at emit (payload issues reported relative to the payload).
      validateEvent(event.type, event.payload, this.config.events.maxPayloadBytes, { payloadPath: '' });
    } catch (err) {
      if (err instanceof AgentBridgeError) throw new Rejected(err.toWire());
      throw err;
    }
    return event;
  }

  private async handle(job: Job, token: string | undefined, event: EventEnvelope, result: CommitResult) {
    const log = { runId: event.runId, seq: event.seq, jobId: job.id };
    if (result.hasBuffered) {
      // Index the gap for the leader's sweep (score = when the head became blocked, from the run's meta).
      await this.connection.zadd(this.keys.gappedRuns, result.gapSince, event.runId);
    }
    switch (result.outcome) {
      case 'committed':
        // The script published what it appended, in the same atomic step.
        this.counters.committed += result.envelopes.length;
        metrics.eventsRouted.add(result.envelopes.length);
        metrics.commitLatency.record(Math.max(0, Date.now() - event.ts));
        return 'committed';
      case 'duplicate':
        this.counters.duplicates++;
        metrics.eventsDeduplicated.add(1);
        // Re-publish what the first attempt committed (and published): cheap insurance for a subscriber
        // that missed it; clients drop the copy by seq.
        await this.publisher.publish(result.envelopes);
        this.logger.debug({ ...log, republished: result.envelopes.length }, 'duplicate event');
        return 'duplicate';
      case 'buffered':
        this.counters.buffered++;
        return 'buffered';
      case 'conflict':
        throw new Rejected(conflictReason(event, result));
      case 'full': {
        // The run waits for a missing seq and its buffer is full: try again later without using up the
        // job's attempts; the leader's gap sweep guarantees the head moves eventually.
        this.counters.delayedFull++;
        const base = this.config.events.jobBackoffMs;
        const delay = Math.min(base * 2 ** Math.min(job.attemptsStarted, 10), 5_000);
        this.logger.debug({ ...log, delay }, 'reorder buffer full; job delayed');
        await job.moveToDelayed(Date.now() + delay, token);
        throw new DelayedError();
      }
      default:
        throw new Error(`unexpected commit outcome ${String(result.outcome)}`);
    }
  }

  /**
   * Records a rejected job — or, with `entry`, one rejected event of a batch job (its index and data) —
   * in the dead-letter queue.
   */
  private async deadLetter(job: Job, reason: WireError, entry?: { index: number; data: unknown }): Promise<void> {
    this.counters.deadLettered++;
    metrics.eventsDeadLettered.add(1, { reason: reason.code });
    const limit = this.config.events.maxPayloadBytes;
    const data: unknown = entry ? entry.data : job.data;
    const size = jsonSize(data);
    const record: DeadLetterRecord = {
      queue: this.config.queues.events,
      jobId: job.id,
      name: job.name,
      // Keep the DLQ bounded: an oversized job is recorded by its size and a preview.
      data: size <= limit * 2 ? data : { truncated: true, sizeBytes: size, preview: safePreview(data, 1_024) },
      reason,
      deadLetteredAt: Date.now(),
    };
    if (entry) record.batchIndex = entry.index;
    this.logger.warn(
      { jobId: job.id, batchIndex: entry?.index, code: reason.code, reason: reason.message },
      'event dead-lettered',
    );
    const suffix = entry ? `-${entry.index}` : '';
    await this.deadLetters?.add('dead_letter', record, {
      // Idempotent if this job is retried after the DLQ write (ids may not contain ':').
      jobId: `dlq-${String(job.id ?? 'none').replaceAll(':', '_')}${suffix}`,
      removeOnComplete: true,
    });
  }
}

function conflictReason(event: EventEnvelope, result: CommitResult): WireError {
  const committed = result.envelopes[0];
  return {
    code: ErrorCode.InvalidEvent,
    message:
      committed?.type === StandardEventType.Gap
        ? `seq ${event.seq} of run ${event.runId} arrived after it was declared missing (gap event committed)`
        : `seq ${event.seq} of run ${event.runId} is already committed with another event id (${committed?.id ?? '?'})`,
    details: { committedId: committed?.id, committedType: committed?.type },
  };
}

function safePreview(value: unknown, chars: number): string {
  try {
    return (JSON.stringify(value) ?? '').slice(0, chars);
  } catch {
    return '(not JSON)';
  }
}

/** The job name agents use on the events queue (any name is accepted). */
export const EVENT_JOB_NAME = JobName.Event;
