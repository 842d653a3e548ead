/**
 * Upper bounds (ms, inclusive) of the emit→delivery latency buckets a gateway counts in its membership
 * record; the last bucket counts everything above the last bound. Roughly logarithmic, so a percentile
 * read from them is off by at most one bucket width (≈ 50 % at worst, usually far less).
 */
export const DELIVERY_LATENCY_BOUNDS_MS: readonly number[] = [
  1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 10_000,
];

/**
 * Cumulative delivery counters of one gateway process since it started, as published in its membership
 * record (`info.delivery`). Readers diff two snapshots of the same process (same `startedAt` of the
 * record) to get what happened in between.
 */
export interface DeliverySnapshot {
  /** Events written to client sockets (live, not replays), each socket counted. */
  delivered: number;
  /** Counts per latency bucket of {@link DELIVERY_LATENCY_BOUNDS_MS} (one more entry: above the last bound). */
  latency: number[];
}

/**
 * In-process aggregate of live deliveries — a count and a fixed-bucket latency histogram — cheap enough
 * to run on every socket write (one array increment) and small enough (~25 integers) to ride on each
 * membership heartbeat, which is how the ops service gets a cluster-wide rate and p50/p99 without a
 * Prometheus server. Never throws.
 */
export class DeliveryStats {
  private delivered = 0;
  private readonly latency = new Array<number>(DELIVERY_LATENCY_BOUNDS_MS.length + 1).fill(0);

  /** Counts one delivery that took `latencyMs` from the emit (clock skew may make it negative: counted as 0). */
  record(latencyMs: number): void {
    this.delivered++;
    const idx = bucketOf(Number.isFinite(latencyMs) ? latencyMs : 0);
    this.latency[idx] = (this.latency[idx] ?? 0) + 1;
  }

  /** A copy of the counters. */
  snapshot(): DeliverySnapshot {
    return { delivered: this.delivered, latency: [...this.latency] };
  }
}

function bucketOf(ms: number): number {
  // Binary search for the first bound >= ms.
  let lo = 0;
  let hi = DELIVERY_LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((DELIVERY_LATENCY_BOUNDS_MS[mid] ?? Infinity) >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * What happened between two snapshots of one process (`later - earlier`), or null when they cannot be
 * compared (a counter went down, or the histograms differ in shape).
 */
export function diffDelivery(later: DeliverySnapshot, earlier: DeliverySnapshot): DeliverySnapshot | null {
  if (later.latency.length !== earlier.latency.length || later.delivered < earlier.delivered) return null;
  const latency = later.latency.map((n, i) => n - (earlier.latency[i] ?? 0));
  return latency.some((n) => n < 0) ? null : { delivered: later.delivered - earlier.delivered, latency };
}

/** Adds bucket counts element-wise (for merging several gateways' histograms). */
export function addLatencyCounts(into: number[], add: readonly number[]): number[] {
  for (let i = 0; i < add.length; i++) into[i] = (into[i] ?? 0) + (add[i] ?? 0);
  return into;
}

/**
 * The `q`-quantile (0..1) of a bucket histogram, as the upper bound of the bucket holding it (the overflow
 * bucket reads as twice the last bound); null when the histogram is empty.
 */
export function latencyQuantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= rank) return DELIVERY_LATENCY_BOUNDS_MS[i] ?? 2 * (DELIVERY_LATENCY_BOUNDS_MS.at(-1) ?? 0);
  }
  return null;
}

/** Whether `value` looks like a {@link DeliverySnapshot} (it comes from JSON in Redis). */
export function isDeliverySnapshot(value: unknown): value is DeliverySnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<DeliverySnapshot>;
  return (
    typeof v.delivered === 'number' &&
    Array.isArray(v.latency) &&
    v.latency.length === DELIVERY_LATENCY_BOUNDS_MS.length + 1 &&
    v.latency.every((n) => typeof n === 'number')
  );
}
