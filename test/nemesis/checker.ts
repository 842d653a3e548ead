import type { DeliveryEntry, EmittedEvent, LeaderObservation, NemesisHistory, SeenEvent } from './history';

/** Kinds of violation, one per property the checker holds the cluster to. */
export type ViolationKind =
  | 'lost' // an acknowledged event never reached a subscriber's application
  | 'duplicated' // an event was handed to the application twice
  | 'reordered' // events were handed over out of emit order, or with a seq that is not their emit position
  | 'unexpected' // the application was handed an event that was never emitted (a gap marker, a stranger)
  | 'reset' // a `recovered: false` although no history may be lost in this mode
  | 'stored-mismatch' // the stored history differs from what was emitted
  | 'unacknowledged' // an emit never succeeded, so the run cannot be judged exactly
  | 'two-leaders' // two leader ids under one fencing epoch
  | 'epoch-regressed'; // a later observation carried a lower epoch

export interface Violation {
  kind: ViolationKind;
  runId?: string;
  subscriber?: string;
  detail: string;
}

export interface CheckOptions {
  /**
   * Accept `recovered: false` resets (modes that may lose history, e.g. Sentinel failover): a
   * subscriber is then judged on what it got after its last reset, which must be the stored history.
   * @defaultValue false
   */
  allowResets?: boolean;
}

const describe = (e: { id: string; seq?: number }): string => (e.seq === undefined ? e.id : `${e.id}@${e.seq}`);

/**
 * Judges one delivery log against the emitted events: the first violation found, or null.
 * Order of checks: unexpected, duplicated, reordered (order or seq), lost — each names the first event.
 */
export function checkDelivery(
  emitted: EmittedEvent[],
  log: DeliveryEntry[],
  options: CheckOptions = {},
): Violation | null {
  let entries = log;
  const lastReset = log.map((e) => e.kind).lastIndexOf('reset');
  if (lastReset >= 0) {
    if (!options.allowResets) {
      return {
        kind: 'reset',
        detail: `recovered:false at delivery ${lastReset} (epoch ${(log[lastReset] as { epoch: number }).epoch})`,
      };
    }
    entries = log.slice(lastReset + 1);
  }
  const events = entries.filter((e): e is Extract<DeliveryEntry, { kind: 'event' }> => e.kind === 'event');
  const position = new Map(emitted.map((e, i) => [e.id, i]));
  const seen = new Set<string>();
  let lastPos = -1;
  for (const e of events) {
    const pos = position.get(e.id);
    if (pos === undefined) return { kind: 'unexpected', detail: `${e.type} ${describe(e)} was never emitted` };
    if (seen.has(e.id)) return { kind: 'duplicated', detail: `${describe(e)} delivered twice` };
    seen.add(e.id);
    if (pos < lastPos)
      return { kind: 'reordered', detail: `${describe(e)} (emitted #${pos + 1}) after emitted #${lastPos + 1}` };
    if (e.seq !== pos + 1) return { kind: 'reordered', detail: `${e.id} carries seq ${e.seq}, emitted as #${pos + 1}` };
    lastPos = pos;
  }
  // After a reset the replay may start at the oldest retained entry; before, everything must be there.
  const from = lastReset >= 0 && events.length > 0 ? position.get(events[0]!.id)! : 0;
  const missing = emitted.slice(from).filter((e) => !seen.has(e.id));
  if (missing.length > 0) {
    const first = missing[0]!;
    return {
      kind: 'lost',
      detail: `${missing.length} of ${emitted.length} never delivered, first ${first.type} ${first.id} (#${emitted.indexOf(first) + 1})`,
    };
  }
  return null;
}

/** Compares the stored history with the emitted events: ids, types, payloads, dense seqs from 1. */
export function checkStored(emitted: EmittedEvent[], stored: SeenEvent[] | null): Violation | null {
  if (stored === null) return { kind: 'stored-mismatch', detail: 'the run record is gone' };
  const n = Math.max(emitted.length, stored.length);
  for (let i = 0; i < n; i++) {
    const want = emitted[i];
    const got = stored[i];
    if (!want) return { kind: 'stored-mismatch', detail: `extra stored ${got!.type} ${describe(got!)}` };
    if (!got) return { kind: 'stored-mismatch', detail: `stored history ends at ${i}, ${emitted.length} emitted` };
    if (got.id !== want.id || got.seq !== i + 1 || got.type !== want.type || got.payload !== want.payload) {
      return {
        kind: 'stored-mismatch',
        detail: `#${i + 1}: stored ${got.type} ${describe(got)}, emitted ${want.type} ${want.id}`,
      };
    }
  }
  return null;
}

/** One leader per epoch across all observations; epochs never decrease within each source's order. */
export function checkLeaders(observations: LeaderObservation[]): Violation[] {
  const out: Violation[] = [];
  const owner = new Map<number, string>();
  for (const o of observations) {
    const known = owner.get(o.epoch);
    if (known === undefined) owner.set(o.epoch, o.leaderId);
    else if (known !== o.leaderId) {
      out.push({ kind: 'two-leaders', detail: `epoch ${o.epoch} held by ${known} and ${o.leaderId} (${o.source})` });
    }
  }
  for (const source of ['poll', 'transition'] as const) {
    let max = -Infinity;
    for (const o of observations.filter((x) => x.source === source)) {
      if (o.epoch < max) {
        out.push({ kind: 'epoch-regressed', detail: `${source}: epoch ${o.epoch} (${o.leaderId}) seen after ${max}` });
      }
      max = Math.max(max, o.epoch);
    }
  }
  return out;
}

/** Every violation in the history: per run (stored, then each subscriber), then leadership. */
export function checkHistory(history: NemesisHistory, options: CheckOptions = {}): Violation[] {
  const out: Violation[] = [];
  for (const run of history.runs) {
    if (run.unacknowledged > 0) {
      out.push({ kind: 'unacknowledged', runId: run.runId, detail: `${run.unacknowledged} emits never acknowledged` });
      continue;
    }
    const stored = checkStored(run.emitted, run.stored);
    if (stored) out.push({ ...stored, runId: run.runId });
    for (const sub of history.subscribers) {
      if (sub.userId !== run.userId) continue;
      const v = checkDelivery(run.emitted, sub.runs[run.runId] ?? [], options);
      if (v) out.push({ ...v, runId: run.runId, subscriber: sub.name });
    }
  }
  out.push(...checkLeaders(history.leaders));
  return out;
}

/** One line naming a violation (what the CLI and the test print first). */
export function formatViolation(v: Violation): string {
  const where = [v.runId && `run ${v.runId}`, v.subscriber && `subscriber ${v.subscriber}`].filter(Boolean).join(', ');
  return `${v.kind}${where ? ` (${where})` : ''}: ${v.detail}`;
}
