import type { AppConfig } from '@agent-bridge/config';
import { queueStats } from '@agent-bridge/control-plane';
import { IllegalStateError, type KeyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { Lifecycle, type LifecycleState } from '@agent-bridge/runtime';
import type { Logger } from '@agent-bridge/telemetry';
import type { DeadLetters } from '../dlq/dead-letters';
import type { StatusReader } from '../status/status-reader';
import { type SampleReading, buildSample } from './sample';
import { SampleRing } from './sample-ring';

/** Options of an {@link OpsSampler}. */
export interface OpsSamplerOptions {
  config: AppConfig;
  keys: KeyLayout;
  /** Command-role connection; never closed by the sampler. */
  conn: RedisConnection;
  reader: StatusReader;
  deadLetters: DeadLetters;
  logger: Logger;
  /** @defaultValue config `ops.sampleIntervalMs` */
  intervalMs?: number;
  /** @defaultValue config `ops.sampleWindowMs` */
  windowMs?: number;
}

/**
 * Samples the cluster once per bucket of `intervalMs` into the chart ring ({@link SampleRing}): deliveries
 * per second and emit→delivery p50/p99 (from the gateways' heartbeat counters), events queue depth and lag,
 * sockets per gateway, dead letters, the leader and the integration state.
 *
 * Every ops replica runs one; they need no coordination: a sample is only taken for a bucket the ring does
 * not have yet, and if two replicas race for the same bucket the stream keeps the first (its entry id is the
 * bucket). Each replica fires a little after the bucket starts, with jitter, so usually one reads at all.
 */
export class OpsSampler {
  private readonly lifecycle = new Lifecycle();
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<unknown> = Promise.resolve();
  readonly ring: SampleRing;
  readonly intervalMs: number;
  readonly windowMs: number;

  constructor(private readonly options: OpsSamplerOptions) {
    this.intervalMs = options.intervalMs ?? options.config.ops.sampleIntervalMs;
    this.windowMs = options.windowMs ?? options.config.ops.sampleWindowMs;
    if (!(this.intervalMs > 0) || !(this.windowMs > this.intervalMs)) {
      throw new RangeError('sampling needs intervalMs > 0 and windowMs > intervalMs');
    }
    this.ring = new SampleRing(options.conn, options.keys.opsSamples, this.windowMs);
  }

  getStatus(): { state: LifecycleState; intervalMs: number; windowMs: number } {
    return { state: this.lifecycle.state, intervalMs: this.intervalMs, windowMs: this.windowMs };
  }

  /** Starts sampling (first sample at the next bucket). Idempotent. */
  start(): void {
    // Synchronous for the caller: the refusal throws here, and the timer is armed before start() returns.
    if (this.lifecycle.isClosing) throw new IllegalStateError(this.lifecycle.state, 'start the sampler');
    void this.lifecycle.start(() => {
      this.schedule();
      return Promise.resolve();
    });
  }

  /**
   * Samples the bucket `now` falls in, unless the ring already has it. Resolves 'written', or 'skipped'
   * when another replica (or an earlier call) sampled that bucket.
   */
  async sampleOnce(now = Date.now()): Promise<'written' | 'skipped'> {
    const bucket = Math.floor(now / this.intervalMs) * this.intervalMs;
    const previous = await this.ring.last();
    if (previous && previous.sample.at >= bucket) return 'skipped';
    const reading = await this.read();
    // A previous sample older than the window says nothing about this interval.
    const base = previous && bucket - previous.sample.at <= this.windowMs ? previous : null;
    return (await this.ring.append(buildSample(bucket, reading, base))) ? 'written' : 'skipped';
  }

  /** Stops the timer and waits for a sample in flight. Idempotent. */
  close(): Promise<void> {
    return this.lifecycle.close(async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await this.inFlight.catch(() => undefined);
    });
  }

  private async read(): Promise<SampleReading> {
    const { reader, deadLetters, conn } = this.options;
    const now = Date.now();
    const events = reader.eventQueueNames
      .map((name) => reader.queueObjects.get(name))
      .filter((q): q is NonNullable<typeof q> => q !== undefined);
    // The chart shows the events backlog as one series: summed over the partitions, the oldest job's lag.
    const [gateways, queue, dead, leader, integration] = await Promise.all([
      reader.members('gateway', now),
      Promise.all(events.map((q) => queueStats(q, conn, now))).then((list) =>
        list.length === 0
          ? null
          : {
              waiting: list.reduce((n, s) => n + s.waiting, 0),
              active: list.reduce((n, s) => n + s.active, 0),
              delayed: list.reduce((n, s) => n + s.delayed, 0),
              lagMs: Math.max(...list.map((s) => s.lagMs)),
            },
      ),
      deadLetters.count(),
      reader.leader(),
      reader.integration(),
    ]);
    return {
      now,
      gateways,
      queue: {
        waiting: queue?.waiting ?? 0,
        active: queue?.active ?? 0,
        delayed: queue?.delayed ?? 0,
        lagMs: queue?.lagMs ?? 0,
      },
      deadLetters: dead,
      leader: { id: leader.id, epoch: leader.epoch },
      state: integration?.state ?? null,
    };
  }

  private schedule(): void {
    if (this.lifecycle.isClosing) return;
    const now = Date.now();
    const next = (Math.floor(now / this.intervalMs) + 1) * this.intervalMs;
    // Fire shortly after the bucket starts (gateway heartbeats of the bucket have landed by then), with
    // jitter so that replicas rarely read the same bucket twice.
    const delay = next - now + Math.round(this.intervalMs * (0.05 + 0.1 * Math.random()));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = this.sampleOnce()
        .catch((err: unknown) => this.options.logger.warn({ err }, 'chart sample failed (retried next interval)'))
        .finally(() => this.schedule());
    }, delay);
    this.timer.unref();
  }
}
