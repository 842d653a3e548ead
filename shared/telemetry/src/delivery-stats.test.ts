import {
  DELIVERY_LATENCY_BOUNDS_MS,
  DeliveryStats,
  diffDelivery,
  isDeliverySnapshot,
  latencyQuantile,
} from './delivery-stats';

describe('DeliveryStats (the gateway counters behind the status page charts)', () => {
  it('counts deliveries into inclusive upper-bound buckets, overflow last, negative (clock skew) as the first', () => {
    const stats = new DeliveryStats();
    for (const ms of [0, 1, 1.5, 2, 999, 1_000, 1_001, 60_000, -5]) stats.record(ms);
    const snap = stats.snapshot();
    expect(snap.delivered).toBe(9);
    const at = (bound: number): number => snap.latency[DELIVERY_LATENCY_BOUNDS_MS.indexOf(bound)] ?? -1;
    expect(at(1)).toBe(3); // 0, 1, -5
    expect(at(2)).toBe(2); // 1.5, 2
    expect(at(1_000)).toBe(2); // 999, 1000
    expect(at(1_500)).toBe(1);
    expect(snap.latency.at(-1)).toBe(1); // 60 s: above the last bound
    expect(isDeliverySnapshot(snap)).toBe(true);
  });

  it('reads quantiles as bucket upper bounds; empty → null', () => {
    const stats = new DeliveryStats();
    expect(latencyQuantile(stats.snapshot().latency, 0.5)).toBeNull();
    for (let i = 0; i < 98; i++) stats.record(4);
    stats.record(400);
    stats.record(4_000);
    const counts = stats.snapshot().latency;
    expect(latencyQuantile(counts, 0.5)).toBe(5);
    expect(latencyQuantile(counts, 0.99)).toBe(500);
    expect(latencyQuantile(counts, 1)).toBe(5_000);
  });

  it('diffs two snapshots of one process, and refuses to diff when a counter went down (a restart)', () => {
    const stats = new DeliveryStats();
    stats.record(10);
    const first = stats.snapshot();
    stats.record(10);
    stats.record(200);
    const d = diffDelivery(stats.snapshot(), first);
    expect(d?.delivered).toBe(2);
    expect(d?.latency.reduce((a, b) => a + b, 0)).toBe(2);
    expect(diffDelivery(first, stats.snapshot())).toBeNull();
    expect(isDeliverySnapshot({ delivered: 1, latency: [1, 2] })).toBe(false);
  });
});
