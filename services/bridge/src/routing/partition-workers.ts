import type { AppConfig } from '@agent-bridge/config';
import { type EventQueueRef, JobName } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { type Logger, consumeWithSpan } from '@agent-bridge/telemetry';
import { DelayedError, type Job, type Worker } from 'bullmq';
import type { RouterStats } from './router-status';
import { StalledWatch } from './stalled-watch';
import { TolerantWorker } from './tolerant-worker';

/** BullMQ's processor signature. */
export type JobProcessor = (job: Job, token: string | undefined) => Promise<string>;

/** What a {@link PartitionWorkers} works with. */
export interface PartitionWorkersOptions {
  config: AppConfig;
  /** Command-role connection for the stalled-job watches. Never closed here. */
  connection: RedisConnection;
  /** Worker-role connection (`maxRetriesPerRequest: null`). Never closed here. */
  workerConnection: RedisConnection;
  logger: Logger;
  stats: RouterStats;
  /** Processes one job (the pipeline); wrapped here in the job's commit span. */
  process: JobProcessor;
}

/**
 * One BullMQ Worker (and its stalled-job watch) per events queue, i.e. per partition: the replica's
 * concurrency is shared out between them, so AB_WORKER_CONCURRENCY stays what one replica holds at once.
 */
export class PartitionWorkers {
  private readonly workers: Worker[] = [];
  private readonly watches: StalledWatch[] = [];
  private readonly processor: JobProcessor;

  constructor(private readonly options: PartitionWorkersOptions) {
    this.processor = tracedProcessor(options.config, options.process);
  }

  /** Starts a worker on each of `refs` and resolves once all are connected, then starts their watches. */
  async start(refs: readonly EventQueueRef[]): Promise<void> {
    const { config, logger, stats } = this.options;
    const perQueue = Math.max(1, Math.ceil(config.events.workerConcurrency / refs.length));
    const started: Worker[] = [];
    for (const ref of refs) {
      const worker = this.createWorker(ref, perQueue);
      this.workers.push(worker);
      started.push(worker);
      worker.run().catch((err: unknown) => {
        stats.noteError(err);
        logger.error({ err, queue: ref.name }, 'events worker stopped');
      });
    }
    await Promise.all(started.map((w) => w.waitUntilReady()));
    for (const worker of started) {
      const watch = new StalledWatch({
        worker,
        connection: this.options.connection,
        intervalMs: config.events.stalledIntervalMs,
        logger,
      });
      this.watches.push(watch);
      watch.start();
    }
  }

  /** Closes every watch and worker (each waits for its jobs in flight); never rejects, reports failures. */
  async close(): Promise<PromiseSettledResult<unknown>[]> {
    return Promise.allSettled([...this.watches.map((w) => w.close()), ...this.workers.map((w) => w.close())]);
  }

  private createWorker(ref: EventQueueRef, concurrency: number): Worker {
    const { config, logger, stats } = this.options;
    const worker = new TolerantWorker(ref.name, this.processor, {
      connection: this.options.workerConnection,
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
      stats.noteError(err);
      logger.error({ err, queue: ref.name }, 'events worker error');
    });
    worker.on('completed', () => stats.clearError());
    worker.on('failed', (job, err) => {
      if (err instanceof DelayedError) return;
      logger.warn({ jobId: job?.id, queue: ref.name, err: err.message }, 'event job failed; BullMQ retries it');
    });
    return worker;
  }
}

/**
 * Wraps `process` so each job runs inside its event's commit span (CONSUMER), parented by the envelope's
 * traceparent; a batch job is traced as its first event (its commit span continues that emit's trace).
 */
function tracedProcessor(config: AppConfig, process: JobProcessor): JobProcessor {
  const traced = { queue: config.queues.events, expectedError: (err: unknown) => err instanceof DelayedError };
  return (job, token) =>
    consumeWithSpan(
      job.name === JobName.Events ? ((job.data as { events?: unknown[] } | null)?.events?.[0] ?? job.data) : job.data,
      { ...traced, fallbackId: job.id },
      () => process(job, token),
    );
}
