import type { RedisConnection } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';
import type { Worker } from 'bullmq';

/** BullMQ's stalled-job check of one worker (a private method of `Worker` in BullMQ 6). */
interface StalledCheck {
  moveStalledJobsToWait(): Promise<void>;
}

/** Options of a {@link StalledWatch}. */
export interface StalledWatchOptions {
  /** The worker whose queue is watched; created with `skipStalledCheck: true`. Never closed by the watch. */
  worker: Worker;
  /** Command-role connection for the one idle command (LLEN). Never closed by the watch. */
  connection: RedisConnection;
  /** Pause between looks; also the worker's `stalledInterval` (BullMQ's one-check-per-interval key). */
  intervalMs: number;
  logger: Logger;
}

/**
 * Finds the jobs of a dead replica within one interval of their locks expiring, at one Redis command per
 * interval and replica while the queue is idle.
 *
 * BullMQ's own stalled checker runs its check script every `stalledInterval` on every worker whether or
 * not a job is active: about 9 commands per interval for two replicas (commands inside the script count
 * as load), i.e. a 500 ms interval would add a fifth to an idle cluster's Redis load. Only an active job
 * can stall, so this watch first asks for the length of the queue's active list (LLEN) and runs the check
 * only when it is not empty. The check is BullMQ's own, unchanged (its script marks the active jobs, and
 * at the next pass moves back to wait those whose lock is gone, fails them past maxStalledCount and emits
 * `stalled`); the worker is created with `skipStalledCheck` so its timer does not run as well.
 */
export class StalledWatch {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private readonly check: StalledCheck;
  private readonly activeKey: string;
  private readonly logger: Logger;

  constructor(private readonly options: StalledWatchOptions) {
    const move = (options.worker as unknown as Partial<StalledCheck>).moveStalledJobsToWait;
    // A BullMQ upgrade that renames the method must fail at start-up, not silently stop finding stalled jobs.
    if (typeof move !== 'function') {
      throw new TypeError('this BullMQ version has no Worker.moveStalledJobsToWait (stalled-job check)');
    }
    this.check = { moveStalledJobsToWait: () => move.call(options.worker) };
    this.activeKey = options.worker.toKey('active');
    this.logger = options.logger;
  }

  /** Starts looking, once now and then every `intervalMs`, until {@link close}. */
  start(): void {
    if (this.closed || this.timer || this.running) return;
    this.tick();
  }

  /** Stops looking and waits for a look in progress. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    this.timer = null;
    this.running = this.look()
      .catch((err: unknown) => this.logger.warn({ err }, 'stalled-job check failed; next one in an interval'))
      .finally(() => {
        this.running = null;
        if (!this.closed) this.timer = setTimeout(() => this.tick(), this.options.intervalMs);
      });
  }

  private async look(): Promise<void> {
    if ((await this.options.connection.llen(this.activeKey)) === 0) return;
    await this.check.moveStalledJobsToWait();
  }
}
