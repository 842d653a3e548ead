import type { NemesisHistory } from './history';

/** Delivery latency and resets of a nemesis history (for the report; the checker judges correctness). */
export interface DeliveryFigures {
  /** First deliveries of an event to a subscriber's application, with their latency (handed over − emitted). */
  deliveries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * The same for events emitted from 5 s before to `windowMs` after a Sentinel failover was performed (an
   * event emitted just before it waits longest), null when none was performed.
   */
  failover: { deliveries: number; p50Ms: number; p99Ms: number; maxMs: number } | null;
  /** Subscriptions that were told `recovered: false`, and the runs they belong to. */
  resetSubscriptions: number;
  resetRuns: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(latencies: number[]): { deliveries: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const s = [...latencies].sort((a, b) => a - b);
  return { deliveries: s.length, p50Ms: pct(s, 50), p99Ms: pct(s, 99), maxMs: s.at(-1) ?? 0 };
}

/**
 * Latency of every first delivery (emit `ts` to the moment the subscriber handed the event to its
 * application), overall and for events emitted around each performed Sentinel failover.
 */
export function deliveryFigures(history: NemesisHistory, windowMs = 10_000): DeliveryFigures {
  const startedAt = history.startedAt ?? 0;
  const windows = history.faults
    .filter((f) => f.kind === 'sentinel-failover' && f.target.startsWith('master'))
    .map((f) => startedAt + f.at);
  const all: number[] = [];
  const during: number[] = [];
  let resetSubscriptions = 0;
  const resetRuns = new Set<string>();
  for (const sub of history.subscribers) {
    for (const [runId, log] of Object.entries(sub.runs)) {
      if (log.some((e) => e.kind === 'reset')) {
        resetSubscriptions++;
        resetRuns.add(runId);
      }
      const seen = new Set<string>();
      for (const e of log) {
        if (e.kind !== 'event' || seen.has(e.id) || e.at === undefined || e.ts === undefined) continue;
        seen.add(e.id);
        const ms = e.at - e.ts;
        all.push(ms);
        if (windows.some((w) => e.ts! >= w - 5_000 && e.ts! < w + windowMs)) during.push(ms);
      }
    }
  }
  return {
    ...summary(all),
    failover: during.length > 0 ? summary(during) : null,
    resetSubscriptions,
    resetRuns: resetRuns.size,
  };
}
