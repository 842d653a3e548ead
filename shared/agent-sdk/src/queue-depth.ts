import { BackpressureError, eventsInJobId } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import type { Queue } from 'bullmq';
import type { PublisherLogger } from './options';

/** Newest waiting jobs whose ids tell the average events per job when the queue depth is read. */
const DEPTH_SAMPLE_JOBS = 100;

/**
 * The bound on events waiting for the bridges (`maxQueueDepth`), counted in events over every partition
 * queue. The depth is read from Redis at most every `queueDepthCheckMs`, in the background, never on the
 * emit path; between reads it grows by what this publisher enqueued since.
 */
export class QueueDepth {
  private depth = 0;
  private depthAt = 0;
  private enqueuedTotal = 0;
  private enqueuedSinceDepth = 0;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly queues: readonly Queue[],
    private readonly connection: RedisConnection,
    private readonly limits: { maxQueueDepth: number; queueDepthCheckMs: number },
    private readonly logger: PublisherLogger,
  ) {}

  /** Last depth read (waiting + delayed + prioritized events). */
  get lastRead(): number {
    return this.depth;
  }

  /**
   * Throws {@link BackpressureError} when the last depth read, plus what was enqueued since, plus
   * `inFlight` (accepted, still on its way) reaches `maxQueueDepth`; starts a background read when due.
   */
  admit(inFlight: number): void {
    const { maxQueueDepth, queueDepthCheckMs } = this.limits;
    if (Date.now() - this.depthAt >= queueDepthCheckMs && !this.refreshing) {
      this.refreshing = this.refresh()
        .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'queue depth check failed'))
        .finally(() => {
          this.refreshing = null;
        });
    }
    const depth = this.depth + this.enqueuedSinceDepth + inFlight;
    if (depth >= maxQueueDepth) throw new BackpressureError(depth, maxQueueDepth);
  }

  /** `events` more are on the queue. */
  enqueued(events: number): void {
    this.enqueuedTotal += events;
    this.enqueuedSinceDepth += events;
  }

  /** Reads the depth from Redis now. */
  async refresh(): Promise<void> {
    const enqueuedBefore = this.enqueuedTotal;
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
    this.depth = Math.round(perQueue.reduce((a, b) => a + b, 0));
    this.depthAt = Date.now();
    // Jobs enqueued while the count ran may or may not be in it; counting them again is the safe side.
    this.enqueuedSinceDepth = this.enqueuedTotal - enqueuedBefore;
  }
}
