import type { AppConfig } from '@agent-bridge/config';
import {
  ErrorCode,
  type EventEnvelope,
  IllegalStateError,
  JobName,
  type KeyLayout,
  type EventQueueRef,
  StandardEventType,
  type WireError,
  consumedEventQueues,
  keyLayout,
} from '@agent-bridge/protocol';
import type { EventCommitResult, PackedEvent, RedisConnection, RunStore } from '@agent-bridge/redis';
import { type Logger, consumeWithSpan, failSpan, metrics, startConsumerSpan } from '@agent-bridge/telemetry';
import { DelayedError, type Job, type Worker } from 'bullmq';
import { bridgeRunStore } from './bridge-run-store';
import { CommitBatcher } from './commit-batcher';
import { DeadLetterWriter } from './dead-letter-writer';
import { type DecodedEvent, decodeJob } from './job-decoder';
import { RoomPublisher } from './room-publisher';
import { StalledWatch } from './stalled-watch';
import { TolerantWorker, undecodableOf } from './tolerant-worker';

/** Options of an {@link EventRouter}. */
export interface EventRouterOptions {
  config: AppConfig;
  /** Command-role connection (Lua commits, PUBLISH, dead-letter queue). Never closed by the router. */
  connection: RedisConnection;
  /** Worker-role connection (`maxRetriesPerRequest: null`) for the BullMQ Worker. Never closed by the router. */
  workerConnection: RedisConnection;
  logger: Logger;
  /**
   * Publishes to the run rooms (and gives the commit script its room template); its Pub/Sub mode is
   * resolved on `start()` unless set already. @defaultValue one of its own on `connection`
   */
  publisher?: RoomPublisher;
}

/** Lifecycle of an {@link EventRouter}. */
export type EventRouterState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/** Counters and state of an {@link EventRouter}, for health endpoints. */
export interface EventRouterStatus {
  state: EventRouterState;
  /** The events queue setting (`AB_EVENTS_QUEUE`; the base name of the partition queues). */
  queue: string;
  /** Every events queue this replica consumes (one per partition, plus a previous count's while it drains). */
  queues: string[];
  /** Jobs this replica processes at once, over all its queues. */
  concurrency: number;
  /** Jobs currently being processed by this replica. */
  inFlight: number;
  /** Jobs taken from the queue (every attempt). */
  processed: number;
  /** Events appended to histories (including ones released from reorder buffers). */
  committed: number;
  /** Events parked in a reorder buffer. */
  buffered: number;
  /** Events already committed or buffered (retries, redeliveries). */
  duplicates: number;
  /** Jobs re-delayed because a run's reorder buffer was full (or its seq too far ahead, for a while). */
  delayedFull: number;
  /** Jobs (or events of batch jobs) moved to the dead-letter queue. */
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

/**
 * Routes agent events: a BullMQ Worker on the events queue turns every job — an `event` job is a batch of
 * one, an `events` job a batch of many — into validated events, and commits the events of all jobs this
 * replica holds in the same turn together, one atomic idempotent script call per run
 * (`RunStore.commit`, `lua/commit-events-3.lua`), which also publishes what it appended to the run's
 * Socket.IO room (`agent_event`) through the Redis adapter channel.
 *
 * Guarantees: per-run order by `seq` whatever order jobs arrive in (early ones wait in the run's bounded
 * reorder buffer), exactly one history entry per `seq`, live publishes in commit (= seq) order and never
 * a commit without its publish (both happen in one script), duplicates are no-ops that re-publish the
 * committed envelope, and every rejected input goes to the dead-letter queue with the reason, one record
 * per rejection, never blocking other runs. Runs on every replica; needs no leader. Pub/Sub itself is
 * at-most-once: clients dedupe by `seq` and fill holes from history.
 */
export class EventRouter {
  private state: EventRouterState = 'idle';
  private readonly workers: Worker[] = [];
  private readonly stalledWatches: StalledWatch[] = [];
  private readonly queueRefs: EventQueueRef[];
  private deadLetters: DeadLetterWriter | null = null;
  private closing: Promise<void> | null = null;
  private readonly keys: KeyLayout;
  private readonly publisher: RoomPublisher;
  private readonly store: RunStore;
  private readonly batcher: CommitBatcher;
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
    const q = this.config.queues;
    this.queueRefs = consumedEventQueues(this.config.keyPrefix, q.events, q.eventPartitions, q.previousEventPartitions);
    this.publisher = options.publisher ?? new RoomPublisher(this.connection, this.keys);
    this.store = bridgeRunStore(this.config, this.connection, this.keys, this.publisher);
    // Index a run blocked by a missing seq for the leader's sweep (score = when its head became blocked).
    this.batcher = new CommitBatcher(this.store, (runId, s) =>
      s.hasBuffered ? this.store.markGapped(runId, s.gapSince) : undefined,
    );
  }

  /** Starts consuming the events queue. Idempotent while running; throws after close. */
  async start(): Promise<void> {
    if (this.state === 'running' || this.state === 'starting') return;
    if (this.state !== 'idle') throw new IllegalStateError(this.state, 'start the event router');
    this.state = 'starting';
    const { config } = this;
    // Commits publish in the installation's Pub/Sub mode: known before the first job is taken.
    await this.publisher.start(config);
    this.deadLetters = new DeadLetterWriter(config, this.connection, this.keys.bullPrefix, this.logger);
    // Each job is processed inside its event's commit span (CONSUMER), parented by the envelope's traceparent.
    const traced = { queue: config.queues.events, expectedError: (err: unknown) => err instanceof DelayedError };
    // A batch job is traced as its first event (its commit span continues that emit's trace).
    const processor = (job: Job, token: string | undefined): Promise<string> =>
      consumeWithSpan(
        job.name === JobName.Events ? ((job.data as { events?: unknown[] } | null)?.events?.[0] ?? job.data) : job.data,
        { ...traced, fallbackId: job.id },
        () => this.process(job, token),
      );
    // One worker per events queue (decision 0006): every replica consumes every partition. The replica's
    // concurrency is shared out between them, so AB_WORKER_CONCURRENCY stays what one replica holds at once.
    const perQueue = Math.max(1, Math.ceil(config.events.workerConcurrency / this.queueRefs.length));
    for (const ref of this.queueRefs) {
      const worker = this.createWorker(ref, processor, perQueue);
      this.workers.push(worker);
      worker.run().catch((err: unknown) => {
        this.noteError(err);
        this.logger.error({ err, queue: ref.name }, 'events worker stopped');
      });
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    for (const worker of this.workers) {
      const watch = new StalledWatch({
        worker,
        connection: this.connection,
        intervalMs: config.events.stalledIntervalMs,
        logger: this.logger,
      });
      this.stalledWatches.push(watch);
      watch.start();
    }
    if (this.state === 'starting') this.state = 'running';
    this.logger.info(
      { queues: this.queueRefs.map((r) => r.name), concurrency: config.events.workerConcurrency },
      'event router consuming',
    );
  }

  private createWorker(
    ref: EventQueueRef,
    processor: (job: Job, token: string | undefined) => Promise<string>,
    concurrency: number,
  ): Worker {
    const { config } = this;
    const worker = new TolerantWorker(ref.name, processor, {
      connection: this.workerConnection,
      prefix: ref.prefix,
      // Recorded on each job as `processedBy` (ops can see which replica holds a job).
      name: config.instanceId,
      concurrency,
      // A dead replica's jobs come back after at most lockDuration + stalledInterval (docs/guarantees.md 4.4).
      lockDuration: config.events.lockDurationMs,
      // Renewed at a quarter of the lock (BullMQ: half), so a live replica whose event loop is blocked
      // for up to 3/4 of it keeps its jobs (losing one is safe — commits are idempotent — but wasted work).
      lockRenewTime: config.events.lockDurationMs / 4,
      // BullMQ's own timer would run its check script every interval even when idle; the StalledWatch
      // runs the same check only while jobs are active. The interval still spaces the checks of
      // all replicas (BullMQ's stalled-check key lives this long).
      skipStalledCheck: true,
      stalledInterval: config.events.stalledIntervalMs,
      maxStalledCount: config.events.maxStalledCount,
      // Committed events live in the run histories; the queue keeps a short tail for inspection only.
      removeOnComplete: { count: 1_000 },
      removeOnFail: { count: 10_000 },
      autorun: false,
    });
    worker.on('error', (err) => {
      this.noteError(err);
      this.logger.error({ err, queue: ref.name }, 'events worker error');
    });
    // Processing again: an earlier error is history (it stays in the log), not the replica's state.
    worker.on('completed', () => this.clearError());
    worker.on('failed', (job, err) => {
      if (err instanceof DelayedError) return;
      this.logger.warn({ jobId: job?.id, queue: ref.name, err: err.message }, 'event job failed; BullMQ retries it');
    });
    return worker;
  }

  /**
   * Stops taking jobs, waits for the jobs in flight to finish (commit and publish), and closes the worker
   * and dead-letter queue. Idempotent; every step runs even if one fails. Connections are not closed.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closing';
      const results = await Promise.allSettled([
        ...this.stalledWatches.map((w) => w.close()),
        ...this.workers.map((w) => w.close()),
      ]);
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
      queues: this.queueRefs.map((r) => r.name),
      concurrency: this.config.events.workerConcurrency,
      ...this.counters,
      deadLettered: this.deadLetters?.written ?? 0,
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
      return await this.processEvents(job, token);
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      this.counters.errors++;
      this.noteError(err);
      throw err;
    } finally {
      this.counters.inFlight--;
    }
  }

  /**
   * The one pipeline: decode the job into events (each validated on its own; an invalid one is
   * dead-lettered with its reason, the others still commit), commit each run's events through the batcher
   * (with the events of the other jobs of this turn), then account per event. When some event must wait
   * (its run's reorder buffer is full, or its seq is further ahead than the buffer reaches) the whole job
   * is delayed and retried later: what it already committed is then a duplicate (a no-op).
   */
  private async processEvents(job: Job, token: string | undefined): Promise<string> {
    const bad = undecodableOf(job.data);
    if (bad) {
      await this.deadLetter(job, {
        code: ErrorCode.InvalidEvent,
        message: `job ${bad.field} is not JSON: ${bad.error}`,
        details: { field: bad.field, preview: bad.preview },
      });
      // Store JSON in its place, so tools that list the queue (Bull Board) can read the job.
      await job.updateData({ undecodable: bad });
      return 'dead-lettered';
    }
    const decoded = decodeJob(job, this.config.events.maxPayloadBytes);
    // Dead-letter writes and re-publishes run while the commits are awaited; each gets a handler at once
    // (a failure under load must not become an unhandled rejection) and is awaited below.
    const writes = new Writes();
    if ('rejected' in decoded) {
      await this.deadLetter(job, decoded.rejected);
      return 'dead-lettered';
    }
    for (const r of decoded.invalid) writes.push(this.deadLetter(job, r.reason, { index: r.index, data: r.data }));
    const runs = new Map<string, DecodedEvent[]>();
    for (const d of decoded.events) {
      let list = runs.get(d.event.runId);
      if (!list) runs.set(d.event.runId, (list = []));
      list.push(d);
    }
    // The job runs in the commit span of its first event (see start()); every other event of a batch job
    // gets its own commit span in its emit's trace.
    const spans = new Map<DecodedEvent, ReturnType<typeof startConsumerSpan>>();
    for (const d of decoded.events) {
      if (d.index > 0) spans.set(d, startConsumerSpan(d.event, { queue: this.config.queues.events }));
    }
    let waits: boolean[];
    let outcome: string | undefined;
    try {
      waits = await Promise.all(
        [...runs.entries()].map(async ([runId, list]) => {
          const packed: PackedEvent[] = list.map((d) => this.store.pack(d.event));
          const { results } = await this.batcher.commit(runId, packed);
          if (decoded.events.length === 1) outcome = results[0]?.outcome;
          for (const [i, result] of results.entries()) {
            const span = spans.get(list[i]!);
            span?.setAttribute('agent_bridge.outcome', result.outcome);
            span?.end();
            spans.delete(list[i]!);
          }
          return this.account(job, list, results, writes);
        }),
      );
    } catch (err) {
      for (const span of spans.values()) failSpan(span, err);
      throw err;
    }
    await writes.all();
    if (waits.includes(true)) {
      // A run waits for a missing seq: retry later without using up the job's attempts; the leader's gap
      // sweep guarantees the head moves eventually.
      this.counters.delayedFull++;
      const delay = Math.min(this.config.events.jobBackoffMs * 2 ** Math.min(job.attemptsStarted, 10), 5_000);
      this.logger.debug({ jobId: job.id, delay }, 'reorder buffer full; job delayed');
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
    if (decoded.invalid.length > 0) return decoded.events.length > 0 ? 'partly dead-lettered' : 'dead-lettered';
    // A single event's job reports its outcome (committed, buffered, duplicate, conflict, unregistered).
    return outcome ?? 'committed';
  }

  /**
   * Accounts for the results of one run's events of a job; dead-letter writes and re-publishes go into
   * `writes`. True when an event must wait (the job is delayed).
   */
  private account(job: Job, list: DecodedEvent[], results: EventCommitResult[], writes: Writes): boolean {
    let wait = false;
    const republish: EventEnvelope[] = [];
    for (const [i, result] of results.entries()) {
      const { event, index } = list[i]!;
      const entry = { index, data: list[i]!.data };
      switch (result.outcome) {
        case 'committed':
          this.counters.committed += result.appended;
          metrics.eventsRouted.add(result.appended);
          metrics.commitLatency.record(Math.max(0, Date.now() - event.ts));
          break;
        case 'duplicate':
          this.counters.duplicates++;
          metrics.eventsDeduplicated.add(1);
          // Re-publish what the first attempt committed (and published): cheap insurance for a subscriber
          // that missed it; clients drop the copy by seq.
          republish.push(...result.envelopes);
          break;
        case 'buffered':
          this.counters.buffered++;
          break;
        case 'conflict':
          writes.push(this.deadLetter(job, conflictReason(event, result), entry));
          break;
        case 'unregistered':
          writes.push(
            this.deadLetter(
              job,
              {
                code: ErrorCode.NotFound,
                message: `run ${event.runId} is not registered (register it before its first event)`,
                details: { runId: event.runId },
              },
              entry,
            ),
          );
          break;
        case 'ahead':
          // Further ahead of the head than the reorder buffer reaches. Give the run time to catch up (the
          // gap sweep moves a blocked head after gapTimeoutMs); past that it never will: dead-letter it.
          if (Date.now() - job.timestamp > aheadWaitMs(this.config)) {
            writes.push(this.deadLetter(job, aheadReason(event, this.config), entry));
          } else {
            wait = true;
          }
          break;
        case 'full':
          wait = true;
          break;
        default:
          throw new Error(`unexpected commit outcome ${String(result.outcome)}`);
      }
    }
    if (republish.length > 0) {
      republish.sort((a, b) => a.seq - b.seq);
      writes.push(this.publisher.publish(republish));
    }
    return wait;
  }

  /** Records a rejected job — or, with `entry`, one rejected event of it — in the dead-letter queue. */
  private deadLetter(job: Job, reason: WireError, entry?: { index: number; data: unknown }): Promise<void> {
    const target = { id: job.id, name: job.name, data: job.data as unknown, timestamp: job.timestamp };
    if (!this.deadLetters) return Promise.reject(new IllegalStateError(this.state, 'dead-letter'));
    return this.deadLetters.write(target, reason, entry);
  }
}

/** Promises started now and awaited later, each handled from the start. */
class Writes {
  private readonly list: Promise<unknown>[] = [];

  push(p: Promise<unknown>): void {
    p.catch(() => undefined);
    this.list.push(p);
  }

  async all(): Promise<void> {
    await Promise.all(this.list);
  }
}

/** How long a job may wait for its run's head to come within reach of an event's seq. */
function aheadWaitMs(config: AppConfig): number {
  return 2 * config.events.gapTimeoutMs + 5_000;
}

function aheadReason(event: EventEnvelope, config: AppConfig): WireError {
  return {
    code: ErrorCode.InvalidEvent,
    message:
      `seq ${event.seq} of run ${event.runId} stayed more than ${config.events.reorderBufferMax + 1} ahead of ` +
      `the committed head for ${aheadWaitMs(config)} ms (the reorder buffer cannot reach it)`,
    details: { seq: event.seq, reorderBufferMax: config.events.reorderBufferMax },
  };
}

function conflictReason(event: EventEnvelope, result: EventCommitResult): WireError {
  const held = result.envelopes[0];
  const where = result.conflictBuffered ? 'buffered' : 'committed';
  return {
    code: ErrorCode.InvalidEvent,
    message:
      held?.type === StandardEventType.Gap
        ? `seq ${event.seq} of run ${event.runId} arrived after it was declared missing (gap event committed)`
        : `seq ${event.seq} of run ${event.runId} is already ${where} with another event id (${held?.id ?? '?'})`,
    details: { committedId: held?.id, committedType: held?.type, held: where },
  };
}
