import { randomUUID } from 'node:crypto';
import type { AppConfig } from '@agent-bridge/config';
import {
  IllegalStateError,
  InvalidRequestError,
  type KeyLayout,
  RunIdSchema,
  UserIdSchema,
  eventQueues,
  keyLayout,
} from '@agent-bridge/protocol';
import {
  type RedisConnection,
  type ReplicationPolicy,
  closeRedis,
  createRedis,
  registerRun,
  replicatedWithRetry,
} from '@agent-bridge/redis';
import { Queue } from 'bullmq';
import {
  type AgentPublisherOptions,
  type PublisherLogger,
  resolvePublisherConfig,
  silentPublisherLogger,
} from './options';
import { EventBatcher } from './event-batcher';
import { QueueDepth } from './queue-depth';
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

/**
 * What agent code imports: publishes the events of runs to the events queue (`config.queues.events`; with
 * `AB_EVENT_PARTITIONS` > 1 the run's partition queue, docs/protocol.md), from which every bridge replica
 * commits them in order into the run's history.
 *
 * - Each run is recorded in the run registry by {@link startRun} (owner, agent, status, timestamps).
 * - Emits are validated and size-checked before anything is enqueued (typed errors), numbered with a dense
 *   per-run `seq` in call order, and batched into BullMQ `addBulk` calls: the events of one run in a flush
 *   form one `events` batch job (job id `eventBatchJobId`), a lone event an `event` job (job id = event id).
 * - A failed enqueue is retried with the same event ids for `publishRetryTimeoutMs` (a duplicate never
 *   shows twice: the bridge's commit is idempotent).
 * - Over `maxQueueDepth` waiting events, emits reject with `BackpressureError`. The depth is read at
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
  private readonly depth: QueueDepth;
  private readonly batcher: EventBatcher;
  private readonly replication: ReplicationPolicy;
  private readonly handleDeps: RunHandleDeps;

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
    this.replication = { replicas: config.redis.waitReplicas, timeoutMs: config.redis.waitTimeoutMs };
    this.depth = new QueueDepth(this.queues, connection, config.events, this.logger);
    this.batcher = new EventBatcher(this.queues, connection, config, this.replication, this.logger, (events) =>
      this.depth.enqueued(events),
    );
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
      enqueue: (event) => this.batcher.enqueue(event),
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
      await publisher.depth.refresh();
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
      pending: this.batcher.pending,
      enqueued: this.batcher.enqueued,
      failed: this.batcher.failed,
      queueDepth: this.depth.lastRead,
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
      const steps: (() => unknown)[] = [
        // Open thinking windows go to the queue with everything else accepted.
        () => Promise.all([...this.handles.values()].map((handle) => handle.flush().catch(() => undefined))),
        () => this.batcher.whenIdle(),
        () => {
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
    // Last depth read + what we enqueued since + what is still on its way.
    this.depth.admit(this.batcher.pending);
  }

  private release(handle: RunHandle): void {
    if (this.handles.get(handle.runId) !== handle) return;
    this.handles.delete(handle.runId);
    this.control.unlisten(handle.runId);
  }
}
