import type { AppConfig } from '@agent-bridge/config';
import {
  IllegalStateError,
  type KeyLayout,
  type EventQueueRef,
  type WireError,
  consumedEventQueues,
  keyLayout,
} from '@agent-bridge/protocol';
import type { RedisConnection, RunStore } from '@agent-bridge/redis';
import { Lifecycle } from '@agent-bridge/runtime';
import type { Logger } from '@agent-bridge/telemetry';
import type { Job } from 'bullmq';
import { bridgeRunStore } from './bridge-run-store';
import { CommitBatcher } from './commit-batcher';
import { DeadLetterWriter } from './dead-letter-writer';
import { EventPipeline } from './event-pipeline';
import { PartitionWorkers } from './partition-workers';
import { RoomPublisher } from './room-publisher';
import { type EventRouterStatus, RouterStats } from './router-status';

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

/**
 * Routes agent events: a BullMQ Worker on each events queue turns every job — an `event` job is a batch of
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
 *
 * The parts: {@link PartitionWorkers} (the workers per partition queue), {@link EventPipeline} (what each
 * job goes through), {@link RouterStats} (counters for `/status`).
 */
export class EventRouter {
  // Close does not wait for a start in progress (it may wait on Redis for long): closing the workers makes
  // that start fail instead.
  private readonly lifecycle = new Lifecycle({ closeWaitsForStart: false });
  private readonly queueRefs: EventQueueRef[];
  private deadLetters: DeadLetterWriter | null = null;
  private readonly keys: KeyLayout;
  private readonly publisher: RoomPublisher;
  private readonly store: RunStore;
  private readonly stats = new RouterStats();
  private readonly workers: PartitionWorkers;
  private readonly config: AppConfig;
  private readonly connection: RedisConnection;
  private readonly logger: Logger;

  constructor(options: EventRouterOptions) {
    this.config = options.config;
    this.connection = options.connection;
    this.logger = options.logger.child({ component: 'event-router' });
    this.keys = keyLayout(this.config.keyPrefix);
    const q = this.config.queues;
    this.queueRefs = consumedEventQueues(this.config.keyPrefix, q.events, q.eventPartitions, q.previousEventPartitions);
    this.publisher = options.publisher ?? new RoomPublisher(this.connection, this.keys);
    this.store = bridgeRunStore(this.config, this.connection, this.keys, this.publisher);
    // Index a run blocked by a missing seq for the leader's sweep (score = when its head became blocked).
    const batcher = new CommitBatcher(this.store, (runId, s) =>
      s.hasBuffered ? this.store.markGapped(runId, s.gapSince) : undefined,
    );
    const pipeline = new EventPipeline({
      config: this.config,
      store: this.store,
      batcher,
      publisher: this.publisher,
      stats: this.stats,
      logger: this.logger,
      deadLetter: (job, reason, entry) => this.deadLetter(job, reason, entry),
    });
    this.workers = new PartitionWorkers({
      config: this.config,
      connection: this.connection,
      workerConnection: options.workerConnection,
      logger: this.logger,
      stats: this.stats,
      process: (job, token) => pipeline.process(job, token),
    });
  }

  /** Starts consuming the events queues. Idempotent while starting or running; throws after close. */
  start(): Promise<void> {
    if (this.lifecycle.isClosing) {
      return Promise.reject(new IllegalStateError(this.lifecycle.state, 'start the event router'));
    }
    return this.lifecycle.start(async () => {
      const { config } = this;
      // Commits publish in the installation's Pub/Sub mode: known before the first job is taken.
      await this.publisher.start(config);
      this.deadLetters = new DeadLetterWriter(config, this.connection, this.keys.bullPrefix, this.logger);
      // Decision 0006: every replica consumes every partition.
      await this.workers.start(this.queueRefs);
      this.logger.info(
        { queues: this.queueRefs.map((r) => r.name), concurrency: config.events.workerConcurrency },
        'event router consuming',
      );
    });
  }

  /**
   * Stops taking jobs, waits for the jobs in flight to finish (commit and publish), and closes the workers
   * and dead-letter queue. Idempotent; every step runs even if one fails. Connections are not closed.
   */
  close(): Promise<void> {
    return this.lifecycle.close(async () => {
      const results = await this.workers.close();
      const dlq = await Promise.allSettled(this.deadLetters ? [this.deadLetters.close()] : []);
      for (const r of [...results, ...dlq]) {
        if (r.status === 'rejected') this.logger.warn({ err: r.reason as unknown }, 'event router close step failed');
      }
    });
  }

  /** Current state and counters. */
  getStatus(): EventRouterStatus {
    const { lastError, lastErrorAt, ...counts } = this.stats.snapshot();
    return {
      state: this.lifecycle.state,
      queue: this.config.queues.events,
      queues: this.queueRefs.map((r) => r.name),
      concurrency: this.config.events.workerConcurrency,
      ...counts,
      deadLettered: this.deadLetters?.written ?? 0,
      lastError,
      lastErrorAt,
    };
  }

  /** Records a rejected job — or, with `entry`, one rejected event of it — in the dead-letter queue. */
  private deadLetter(job: Job, reason: WireError, entry?: { index: number; data: unknown }): Promise<void> {
    const target = { id: job.id, name: job.name, data: job.data as unknown, timestamp: job.timestamp };
    if (!this.deadLetters) return Promise.reject(new IllegalStateError(this.lifecycle.state, 'dead-letter'));
    return this.deadLetters.write(target, reason, entry);
  }
}
