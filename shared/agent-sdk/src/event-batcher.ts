import type { AppConfig } from '@agent-bridge/config';
import {
  AgentBridgeError,
  ErrorCode,
  type EventEnvelope,
  JobName,
  eventBatchJobId,
  eventPartition,
} from '@agent-bridge/protocol';
import { type RedisConnection, type ReplicationPolicy, replicated } from '@agent-bridge/redis';
import type { Queue } from 'bullmq';
import type { PublisherLogger } from './options';
import { type Waiting, sha1Hex, toJobs } from './event-jobs';

/** Batches in flight at once; beyond that, emits accumulate into the next batch. */
const MAX_BATCHES_IN_FLIGHT = 4;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The emit path of a publisher from an accepted event to the queue: events accepted in the same tick share
 * one flush, each flush becomes BullMQ jobs on the partition queues (`events` batch jobs, a lone event an
 * `event` job), and a failed enqueue is retried with the same job ids for `publishRetryTimeoutMs` (a
 * duplicate never shows twice: the bridge's commit is idempotent).
 */
export class EventBatcher {
  private readonly buffer: Waiting[] = [];
  private flushScheduled = false;
  private batchesInFlight = 0;
  private inFlightEvents = 0;
  private idleWaiters: (() => void)[] = [];
  private enqueuedTotal = 0;
  private failedTotal = 0;
  /** BullMQ options of every event job (the job id is added per job). */
  private readonly jobOptions: {
    attempts: number;
    backoff: { type: string; delay: number };
    removeOnComplete: { count: number };
    removeOnFail: { count: number };
  };

  constructor(
    /** One queue per event partition (`AB_EVENT_PARTITIONS`), in partition order. */
    private readonly queues: readonly Queue[],
    private readonly connection: RedisConnection,
    private readonly config: AppConfig,
    private readonly replication: ReplicationPolicy,
    private readonly logger: PublisherLogger,
    /** Called with the number of events of each batch once it is on the queue. */
    private readonly onEnqueued: (events: number) => void,
  ) {
    this.jobOptions = {
      attempts: config.events.jobAttempts,
      backoff: { type: 'exponential', delay: config.events.jobBackoffMs },
      removeOnComplete: { count: 1_000 },
      removeOnFail: { count: 10_000 },
    };
  }

  /** Events accepted and not yet on the queue. */
  get pending(): number {
    return this.buffer.length + this.inFlightEvents;
  }

  /** Events put on the queue. */
  get enqueued(): number {
    return this.enqueuedTotal;
  }

  /** Events whose enqueue failed after retrying for `publishRetryTimeoutMs`. */
  get failed(): number {
    return this.failedTotal;
  }

  /** Resolves once the event is on the queue; rejects (AgentBridgeError UNAVAILABLE) once retrying gave up. */
  enqueue(event: EventEnvelope): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.buffer.push({ event, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Resolves once every accepted event is on the queue or has failed. */
  whenIdle(): Promise<void> {
    if (this.buffer.length === 0 && this.batchesInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.batchesInFlight >= MAX_BATCHES_IN_FLIGHT || this.buffer.length === 0) return;
    this.flushScheduled = true;
    // Emits of the same tick (and those awaiting each other in a loop) share one addBulk.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.buffer.length > 0 && this.batchesInFlight < MAX_BATCHES_IN_FLIGHT) {
      const batch = this.buffer.splice(0, this.config.events.publishBatchMax);
      this.batchesInFlight++;
      this.inFlightEvents += batch.length;
      void this.send(batch).finally(() => {
        this.batchesInFlight--;
        this.inFlightEvents -= batch.length;
        if (this.buffer.length > 0) this.scheduleFlush();
        else if (this.batchesInFlight === 0) this.notifyIdle();
      });
    }
  }

  private async send(batch: Waiting[]): Promise<void> {
    const { publishRetryTimeoutMs } = this.config.events;
    const perQueue = this.jobsPerQueue(batch);
    const deadline = Date.now() + publishRetryTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        // A lone job goes through `add` (one EVALSHA); `addBulk` wraps even one job in MULTI/EXEC, which
        // cost a producer awaiting each emit about 2× the CPU of a plain `queue.add` (bench:emit).
        // With REDIS_WAIT_REPLICAS, acknowledged only once replicas hold the jobs: a Sentinel failover
        // then cannot lose an emit the agent was told succeeded (decision 0005).
        // A partial failure over several partitions retries all of them: the jobs that did reach Redis are
        // found by id and not added again.
        await replicated(this.connection, this.replication, () =>
          Promise.all(
            perQueue.map(async ({ queue, jobs }) => {
              const [first, ...others] = jobs;
              if (first && others.length === 0) await queue.add(first.name, first.data, first.opts);
              else await queue.addBulk(jobs);
            }),
          ),
        );
        this.enqueuedTotal += batch.length;
        this.onEnqueued(batch.length);
        for (const w of batch) w.resolve();
        return;
      } catch (err) {
        const delay = Math.min(50 * 2 ** attempt, 2_000);
        if (Date.now() + delay > deadline) {
          this.failedTotal += batch.length;
          this.logger.error({ err: (err as Error).message, events: batch.length }, 'could not enqueue events');
          const error = new AgentBridgeError(
            ErrorCode.Unavailable,
            `could not enqueue ${batch.length} event(s) within ${publishRetryTimeoutMs} ms; emit again with the same id to retry`,
            { cause: err },
          );
          for (const w of batch) w.reject(error);
          return;
        }
        // Same jobs, same ids: an attempt that reached Redis is not added twice.
        await sleep(delay);
      }
    }
  }

  /**
   * Each run's events go to its partition's queue (one when AB_EVENT_PARTITIONS=1); a job never mixes
   * partitions. A lone event (the awaited token stream's case) skips the grouping by run.
   */
  private jobsPerQueue(batch: Waiting[]) {
    const opts = this.jobOptions;
    const byQueue = new Map<Queue, Waiting[]>();
    for (const w of batch) {
      const queue = this.queueOf(w.event.runId);
      let list = byQueue.get(queue);
      if (!list) byQueue.set(queue, (list = []));
      list.push(w);
    }
    return [...byQueue.entries()].map(([queue, part]) => {
      const [lone] = part;
      const grouped = part.length === 1 && lone ? [[lone.event]] : toJobs(part);
      const jobs = grouped.map((events) => {
        const [first] = events;
        return events.length === 1 && first
          ? { name: JobName.Event, data: first, opts: { ...opts, jobId: first.id } }
          : { name: JobName.Events, data: { events }, opts: { ...opts, jobId: eventBatchJobId(events, sha1Hex) } };
      });
      return { queue, jobs };
    });
  }

  /** The queue of the run's event partition. */
  private queueOf(runId: string): Queue {
    const count = this.queues.length;
    const queue = this.queues[count === 1 ? 0 : eventPartition(runId, count)];
    if (!queue) throw new Error(`no events queue for the partition of run ${runId} (${count} partitions)`);
    return queue;
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
