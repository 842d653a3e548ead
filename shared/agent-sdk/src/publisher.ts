import { randomUUID } from 'node:crypto';
import type { AppConfig } from '@agent-bridge/config';
import {
  AgentBridgeError,
  BackpressureError,
  ErrorCode,
  type EventEnvelope,
  IllegalStateError,
  InvalidRequestError,
  JobName,
  type KeyLayout,
  RunIdSchema,
  UserIdSchema,
  eventBatchJobId,
  eventPartition,
  eventQueues,
  eventsInJobId,
  keyLayout,
} from '@agent-bridge/protocol';
import {
  type RedisConnection,
  type ReplicationPolicy,
  closeRedis,
  createRedis,
  registerRun,
  replicated,
  replicatedWithRetry,
} from '@agent-bridge/redis';
import { Queue } from 'bullmq';
import {
  type AgentPublisherOptions,
  type PublisherLogger,
  resolvePublisherConfig,
  silentPublisherLogger,
} from './options';
import { type Waiting, sha1Hex, toJobs } from './event-jobs';
import { RunControl } from './run-control';
import { RunHandle, type RunHandleDeps } from './run-handle';

export type { AgentPublisherOptions } from './options';

/** Options of {@link AgentPublisher.startRun}. */
export interface StartRunOptions {
  /** The user who owns the run (the only one allowed to watch it). */
  userId: string;
  /** Agent name, recorded in the registry and in `agent_started`. */
  agent: string;
  /**
   * Id of a run already registered (e.g. by the gateway's `start_run`, status `pending`) or to resume.
   * @defaultValue a new `run-<uuid>`
   */
  runId?: string;
}

/** Lifecycle of an {@link AgentPublisher}. */
export type AgentPublisherState = 'running' | 'closing' | 'closed';

/** Counters and state of an {@link AgentPublisher}. */
export interface AgentPublisherStatus {
  state: AgentPublisherState;
  /** Runs with an open handle (listening for cancellation). */
  openRuns: number;
  /** Events accepted by emit() and not yet on the queue. */
  pending: number;
  /** Events put on the queue. */
  enqueued: number;
  /** Events whose enqueue failed after retrying for `publishRetryTimeoutMs`. */
  failed: number;
  /** Last queue depth read (waiting + delayed + prioritized jobs). */
  queueDepth: number;
}

/** Newest waiting jobs whose ids tell the average events per job when the queue depth is read. */
const DEPTH_SAMPLE_JOBS = 100;

/** Batches in flight at once; beyond that, emits accumulate into the next batch. */
const MAX_BATCHES_IN_FLIGHT = 4;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * What agent code imports: publishes the events of runs to the events queue (`config.queues.events`; with
 * `AB_EVENT_PARTITIONS` > 1 the run's partition queue, docs/protocol.md), from which every bridge replica
 * commits them in order into the run's history.
 *
 * - Each run is recorded in the run registry by {@link startRun} (owner, agent, status, timestamps).
 * - Emits are validated and size-checked before anything is enqueued (typed errors), numbered with a dense
 *   per-run `seq` in call order, and batched into BullMQ `addBulk` calls: the events of one run in a flush
 *   form one `events` batch job (job id {@link eventBatchJobId}), a lone event an `event` job (job id = event id).
 * - A failed enqueue is retried with the same event ids for `publishRetryTimeoutMs` (a duplicate never
 *   shows twice: the bridge's commit is idempotent).
 * - Over `maxQueueDepth` waiting events, emits reject with {@link BackpressureError}. The depth is read at
 *   most every `queueDepthCheckMs` in the background, never on the emit path.
 */
export class AgentPublisher {
  private state: AgentPublisherState = 'running';
  private closing: Promise<void> | null = null;
  private readonly keys: KeyLayout;
  private readonly logger: PublisherLogger;
  /** One queue per event partition (`AB_EVENT_PARTITIONS`), in partition order. */
  private readonly queues: Queue[];
  private readonly control: RunControl;
  private readonly handles = new Map<string, RunHandle>();
  private readonly buffer: Waiting[] = [];
  private flushScheduled = false;
  private batchesInFlight = 0;
  private inFlightEvents = 0;
  private idleWaiters: (() => void)[] = [];
  private depth = 0;
  private depthAt = 0;
  private enqueuedSinceDepth = 0;
  private depthRefresh: Promise<void> | null = null;
  private enqueued = 0;
  private failed = 0;
  private readonly handleDeps: RunHandleDeps;
  /** BullMQ options of every event job (the job id is added per job). */
  private readonly jobOptions: {
    attempts: number;
    backoff: { type: string; delay: number };
    removeOnComplete: { count: number };
    removeOnFail: { count: number };
  };

  private constructor(
    private readonly config: AppConfig,
    private readonly connection: RedisConnection,
    private readonly ownsConnection: boolean,
    logger: PublisherLogger,
    name: string,
  ) {
    this.keys = keyLayout(config.keyPrefix);
    this.logger = logger.child({ component: 'agent-publisher' });
    this.queues = eventQueues(config.keyPrefix, config.queues.events, config.queues.eventPartitions).map((ref) => {
      const queue = new Queue(ref.name, { connection, prefix: ref.prefix });
      queue.on('error', (err) => this.logger.warn({ err: err.message, queue: ref.name }, 'events queue error'));
      return queue;
    });
    this.jobOptions = {
      attempts: config.events.jobAttempts,
      backoff: { type: 'exponential', delay: config.events.jobBackoffMs },
      removeOnComplete: { count: 1_000 },
      removeOnFail: { count: 10_000 },
    };
    this.control = new RunControl(config, this.keys, this.logger, name, (runId) => {
      const handle = this.handles.get(runId);
      if (!handle) return;
      this.logger.info({ runId }, 'run cancellation requested');
      handle.markCancelled();
    });
    this.handleDeps = {
      maxPayloadBytes: config.events.maxPayloadBytes,
      coalesce: {
        windowMs: config.events.thinkingCoalesceMs,
        maxBytes: config.events.thinkingCoalesceMaxBytes,
        maxDeltas: config.events.thinkingCoalesceMaxDeltas,
      },
      admit: () => this.admit(),
      enqueue: (event) => this.enqueue(event),
      release: (handle) => this.release(handle),
    };
  }

  /**
   * Opens (or takes) the Redis connection, checks the queue is reachable and reads its depth.
   * `AgentPublisher.create({ redis: 'redis://host:6379' })` is enough for an agent; the services pass their
   * whole `{ config }`.
   *
   * @throws ConfigError when neither or both of `redis` and `config` are given, or a setting is invalid
   */
  static async create(options: AgentPublisherOptions): Promise<AgentPublisher> {
    const config = resolvePublisherConfig(options);
    const name = options.name ?? 'agent-sdk';
    const owns = options.connection === undefined;
    const connection = options.connection ?? createRedis(config, 'command', { name });
    const logger = options.logger ?? silentPublisherLogger;
    const publisher = new AgentPublisher(config, connection, owns, logger, name);
    try {
      await Promise.all(publisher.queues.map((q) => q.waitUntilReady()));
      await publisher.refreshDepth();
    } catch (err) {
      await publisher.close();
      throw err;
    }
    return publisher;
  }

  /**
   * Registers a run (idempotent for the same owner; a `pending` run becomes `running`) and returns its
   * handle. For a run that already has events (a resumed run) numbering continues after the highest seq
   * committed or buffered — events a previous process still had queued are not known, and would collide.
   *
   * @throws InvalidRequestError for a malformed user id, run id or agent name
   * @throws ForbiddenError when the run belongs to another user
   * @throws IllegalStateError when the run already ended, or the publisher is closed
   */
  async startRun(options: StartRunOptions): Promise<RunHandle> {
    this.assertRunning('start a run');
    const runId = options.runId ?? `run-${randomUUID()}`;
    const problems = [
      ...(UserIdSchema.safeParse(options.userId).success ? [] : [{ path: 'userId', message: 'invalid user id' }]),
      ...(RunIdSchema.safeParse(runId).success ? [] : [{ path: 'runId', message: 'invalid run id' }]),
      ...(typeof options.agent === 'string' && options.agent.length > 0 && options.agent.length <= 64
        ? []
        : [{ path: 'agent', message: '1-64 characters' }]),
    ];
    if (problems.length > 0) {
      throw new InvalidRequestError(`invalid startRun options: ${problems.map((p) => p.path).join(', ')}`, problems);
    }
    if (this.handles.has(runId)) throw new IllegalStateError(`run ${runId} open in this process`, 'start it again');
    const reg = await replicatedWithRetry(
      this.connection,
      this.replication,
      this.config.events.publishRetryTimeoutMs,
      () =>
        registerRun(this.connection, this.keys, {
          runId,
          owner: options.userId,
          agent: options.agent,
          status: 'running',
        }),
    );
    // A run the gateway registered stays 'pending' until the bridge commits its first event (the registry is
    // written once, guarantee of infra/redis/users.acl); only a finished run cannot be started again.
    if (reg.record.status !== 'running' && reg.record.status !== 'pending') {
      throw new IllegalStateError(`run ${runId} ${reg.record.status}`, 'start it');
    }
    const handle = new RunHandle(runId, options.userId, options.agent, reg.lastKnownSeq, this.handleDeps);
    this.handles.set(runId, handle);
    try {
      await this.control.listen(runId);
      // A cancel requested before we listened is in the registry.
      if ((await this.connection.hget(this.keys.runMeta(runId), 'cancelRequested')) === '1') handle.markCancelled();
    } catch (err) {
      this.release(handle);
      throw err;
    }
    this.logger.debug({ runId, created: reg.created, startSeq: reg.lastKnownSeq }, 'run started');
    return handle;
  }

  /** Current state and counters. */
  getStatus(): AgentPublisherStatus {
    return {
      state: this.state,
      openRuns: this.handles.size,
      pending: this.buffer.length + this.inFlightEvents,
      enqueued: this.enqueued,
      failed: this.failed,
      queueDepth: this.depth,
    };
  }

  /**
   * Stops accepting emits, waits until every accepted event is on the queue (or has failed), stops
   * listening for cancellations and closes the queue and the connections it opened. Idempotent; every
   * step runs even if one fails.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closing';
      const steps: (() => Promise<unknown>)[] = [
        // Open thinking windows go to the queue with everything else accepted.
        () => Promise.all([...this.handles.values()].map((handle) => handle.flush().catch(() => undefined))),
        () => this.whenIdle(),
        async () => {
          for (const handle of [...this.handles.values()]) handle.close();
        },
        () => Promise.all(this.queues.map((q) => q.close())),
        () => this.control.close(),
        async () => {
          if (this.ownsConnection) await closeRedis(this.connection);
        },
      ];
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          this.logger.warn({ err }, 'agent publisher close step failed');
        }
      }
      this.state = 'closed';
    })();
    return this.closing;
  }

  private assertRunning(action: string): void {
    if (this.state !== 'running') throw new IllegalStateError(`publisher ${this.state}`, action);
  }

  private admit(): void {
    this.assertRunning('emit');
    const { maxQueueDepth, queueDepthCheckMs } = this.config.events;
    if (Date.now() - this.depthAt >= queueDepthCheckMs && !this.depthRefresh) {
      this.depthRefresh = this.refreshDepth()
        .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'queue depth check failed'))
        .finally(() => {
          this.depthRefresh = null;
        });
    }
    // Last depth read + what we enqueued since + what is still on its way.
    const depth = this.depth + this.enqueuedSinceDepth + this.buffer.length + this.inFlightEvents;
    if (depth >= maxQueueDepth) throw new BackpressureError(depth, maxQueueDepth);
  }

  private async refreshDepth(): Promise<void> {
    const enqueuedBefore = this.enqueued;
    // The depth counts events: jobs waiting × events per job, the latter from the ids of the newest waiting
    // jobs (an `events` batch job id carries its count; any other job is one event). Summed over the
    // partitions: the bound is on what waits for the bridges, wherever it waits.
    const perQueue = await Promise.all(
      this.queues.map(async (queue) => {
        const [jobs, sample] = await Promise.all([
          queue.count(),
          this.connection.lrange(queue.toKey('wait'), 0, DEPTH_SAMPLE_JOBS - 1),
        ]);
        const perJob = sample.length > 0 ? sample.reduce((n, id) => n + eventsInJobId(id), 0) / sample.length : 1;
        return jobs * perJob;
      }),
    );
    const depth = Math.round(perQueue.reduce((a, b) => a + b, 0));
    this.depth = depth;
    this.depthAt = Date.now();
    // Jobs enqueued while the count ran may or may not be in it; counting them again is the safe side.
    this.enqueuedSinceDepth = this.enqueued - enqueuedBefore;
  }

  private enqueue(event: EventEnvelope): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.buffer.push({ event, resolve, reject });
      this.scheduleFlush();
    });
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
    const opts = this.jobOptions;
    // Each run's events go to its partition's queue (one when AB_EVENT_PARTITIONS=1); a job never mixes
    // partitions. A lone event (the awaited token stream's case) skips the grouping by run.
    const count = this.queues.length;
    const byPartition = new Map<number, Waiting[]>();
    for (const w of batch) {
      const p = count === 1 ? 0 : eventPartition(w.event.runId, count);
      let list = byPartition.get(p);
      if (!list) byPartition.set(p, (list = []));
      list.push(w);
    }
    const perQueue = [...byPartition.entries()].map(([p, part]) => {
      const grouped = part.length === 1 ? [[part[0]!.event]] : toJobs(part);
      const jobs = grouped.map((events) =>
        events.length === 1
          ? { name: JobName.Event, data: events[0]!, opts: { ...opts, jobId: events[0]!.id } }
          : { name: JobName.Events, data: { events }, opts: { ...opts, jobId: eventBatchJobId(events, sha1Hex) } },
      );
      return { queue: this.queues[p]!, jobs };
    });
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
              if (jobs.length === 1) await queue.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts);
              else await queue.addBulk(jobs);
            }),
          ),
        );
        this.enqueued += batch.length;
        this.enqueuedSinceDepth += batch.length;
        for (const w of batch) w.resolve();
        return;
      } catch (err) {
        const delay = Math.min(50 * 2 ** attempt, 2_000);
        if (Date.now() + delay > deadline) {
          this.failed += batch.length;
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

  private get replication(): ReplicationPolicy {
    return { replicas: this.config.redis.waitReplicas, timeoutMs: this.config.redis.waitTimeoutMs };
  }

  private whenIdle(): Promise<void> {
    if (this.buffer.length === 0 && this.batchesInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private release(handle: RunHandle): void {
    if (this.handles.get(handle.runId) !== handle) return;
    this.handles.delete(handle.runId);
    this.control.unlisten(handle.runId);
  }
}
