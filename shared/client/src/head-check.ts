/** Options of a {@link HeadCheck}. */
export interface HeadCheckOptions<T> {
  /** Silence after which an item is checked; 0 turns the check off. */
  afterMs: number;
  /** Most items checked per tick, so many silent runs do not flood the gateway (it rate-limits). */
  maxPerTick: number;
  /** The items to look at on each tick. */
  items: () => Iterable<T>;
  /** Epoch ms of the item's last sign of life, or null when it needs no check (ended, not live, busy). */
  lastActivity: (item: T) => number | null;
  /** Checks the item (asks the gateway for what follows its last seq); must count as activity. */
  check: (item: T) => void;
}

/**
 * Periodically finds the items (run subscriptions) that have been silent for `afterMs` and checks them.
 * Live delivery can lose a run's last events without anything later revealing the hole; asking the
 * gateway for the head of a silent, unfinished run bounds how long such a hole can last: about
 * `afterMs` plus one tick (`min(afterMs / 2, 1 s)`) plus a request. A healthy, chatty run is never
 * checked; an idle one costs one small `subscribe` request per `afterMs`.
 */
export class HeadCheck<T> {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly options: HeadCheckOptions<T>) {}

  /** Starts ticking (no-op when `afterMs` is 0). Idempotent. */
  start(): void {
    if (this.timer || this.options.afterMs <= 0) return;
    const period = Math.max(50, Math.min(this.options.afterMs / 2, 1_000));
    this.timer = setInterval(() => this.tick(Date.now()), period);
    // In Node, a client alone must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Stops ticking. Idempotent. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Checks up to `maxPerTick` items silent for `afterMs` or more, the longest-silent first. */
  tick(now: number): void {
    const due: { item: T; since: number }[] = [];
    for (const item of this.options.items()) {
      const since = this.options.lastActivity(item);
      if (since !== null && now - since >= this.options.afterMs) due.push({ item, since });
    }
    due.sort((a, b) => a.since - b.since);
    for (const { item } of due.slice(0, this.options.maxPerTick)) this.options.check(item);
  }
}
