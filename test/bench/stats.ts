/**
 * The p-th percentile of ascending `sorted` by the nearest-rank method: the smallest sample with at least p % of
 * the samples at or below it (NaN for no samples). One definition for every benchmark, so their p99s compare.
 */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}

/** What one side of a benchmark delivered: events lost, duplicated and out of order, and latency percentiles (ms). */
export interface DeliveryFigures {
  lost: number;
  duplicated: number;
  outOfOrder: number;
  p50: number;
  p99: number;
  max: number;
}
