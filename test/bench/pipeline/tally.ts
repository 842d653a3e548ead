import type { EventEnvelope } from '@agent-bridge/protocol';

/** What one pipeline's subscribers saw in one scenario. */
export class Tally {
  private readonly seen = new Map<string, Set<number>>();
  private readonly maxSeq = new Map<string, number>();
  readonly latencies: number[] = [];
  unique = 0;
  duplicates = 0;
  outOfOrder = 0;
  lastAt = 0;

  on(event: EventEnvelope): void {
    const now = Date.now();
    let set = this.seen.get(event.runId);
    if (!set) this.seen.set(event.runId, (set = new Set()));
    if (set.has(event.seq)) {
      this.duplicates++;
      return;
    }
    set.add(event.seq);
    this.unique++;
    const max = this.maxSeq.get(event.runId) ?? 0;
    if (event.seq < max) this.outOfOrder++;
    else this.maxSeq.set(event.runId, event.seq);
    this.latencies.push(now - event.ts);
    this.lastAt = now;
  }
}
