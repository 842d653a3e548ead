/**
 * What the watchers of one side saw in one phase of the agents benchmark: units (tokens and tool events,
 * numbered `k` per run by the producers) lost, duplicated and out of order, and emit → app latency of
 * every delivered event (a coalesced event's `ts` is its FIRST token's emit time, so its latency includes
 * the coalescing window).
 */
import type { EventEnvelope } from '@agent-bridge/protocol';
import { type DeliveryFigures, percentile } from '../stats';

function unitsOf(event: EventEnvelope): number[] {
  const p = event.payload as Record<string, unknown> | null;
  if (!p) return [];
  if (event.type === 'agent_thinking' && typeof p['delta'] === 'string') {
    return p['delta']
      .split(' ')
      .filter((t) => t.length > 0)
      .map(Number);
  }
  const holder = (
    event.type === 'tool_executing' ? p['args'] : event.type === 'tool_completed' ? p['result'] : null
  ) as {
    k?: unknown;
  } | null;
  return typeof holder?.k === 'number' ? [holder.k] : [];
}

export interface TallyResult extends DeliveryFigures {
  deliveredUnits: number;
  wireEvents: number;
  firstAt: number;
  lastAt: number;
}

export class Tally {
  private readonly seen = new Map<string, Set<number>>();
  private readonly maxK = new Map<string, number>();
  private readonly latencies: number[] = [];
  unique = 0;
  private wire = 0;
  private duplicates = 0;
  private outOfOrder = 0;
  private firstAt = 0;
  private lastAt = 0;

  on(event: EventEnvelope): void {
    const now = Date.now();
    this.wire++;
    const units = unitsOf(event);
    if (units.length === 0) return; // agent_started / agent_completed
    this.latencies.push(now - event.ts);
    let set = this.seen.get(event.runId);
    if (!set) this.seen.set(event.runId, (set = new Set()));
    for (const k of units) {
      if (set.has(k)) {
        this.duplicates++;
        continue;
      }
      set.add(k);
      this.unique++;
      const max = this.maxK.get(event.runId) ?? 0;
      if (k < max) this.outOfOrder++;
      else this.maxK.set(event.runId, k);
    }
    if (this.firstAt === 0) this.firstAt = now;
    this.lastAt = now;
  }

  /** Compares with what the producers sent (units 1..n per run). */
  result(sent: Record<string, number>): TallyResult {
    let lost = 0;
    for (const [runId, n] of Object.entries(sent)) {
      const set = this.seen.get(runId);
      for (let k = 1; k <= n; k++) if (!set?.has(k)) lost++;
    }
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      deliveredUnits: this.unique,
      wireEvents: this.wire,
      lost,
      duplicated: this.duplicates,
      outOfOrder: this.outOfOrder,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? NaN,
      firstAt: this.firstAt,
      lastAt: this.lastAt,
    };
  }
}
