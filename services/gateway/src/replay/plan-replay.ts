/** What a `subscribe` asks to resume from (the client SDK sends its last seq and the epoch it belongs to). */
export interface ReplayRequest {
  /** Last seq the client holds (0: from the start). */
  afterSeq: number;
  /** History epoch `afterSeq` belongs to (undefined or 0: unknown, e.g. a first subscribe). */
  epoch?: number | undefined;
}

/** The part of a history page the plan depends on (see `readHistory` in `@agent-bridge/redis`). */
export interface HistorySnapshot {
  /** Current history epoch (0 when the run has no history yet). */
  epoch: number;
  /** Highest committed seq (0 when nothing is committed). */
  headSeq: number;
  /** Oldest seq still held (null when the history is empty or gone). */
  firstSeq: number | null;
}

/** What {@link planReplay} decided. */
export type ReplayPlan =
  /** Serve the page read after `afterSeq`; `recovered: false` when it cannot close the client's gap (trimmed). */
  | { action: 'serve'; recovered: true }
  | { action: 'serve'; recovered: false; reason: 'trimmed' }
  /** The client's `afterSeq` refers to a history that is gone: replay this incarnation from seq 0. */
  | { action: 'restart'; recovered: false; reason: 'epoch-changed' | 'ahead-of-history' };

/**
 * Decides how a subscribe resumes, from the client's position and one snapshot of the run's history read
 * after the socket joined the run's room. Pure: no I/O, so each case is a row of a table test.
 *
 * - The epoch changed (the history was lost and a new incarnation began): restart from 0, not recovered.
 * - The oldest seq held is beyond `afterSeq + 1` (trimmed): the events in between can never be delivered;
 *   serve what there is, not recovered.
 * - The client claims more than the history ever had under the same epoch number (it was lost and rebuilt
 *   with the same number): restart from 0, not recovered.
 * - Otherwise the page continues exactly where the client stopped: recovered.
 */
export function planReplay(request: ReplayRequest, history: HistorySnapshot): ReplayPlan {
  const { afterSeq, epoch } = request;
  if (afterSeq > 0 && epoch !== undefined && epoch > 0 && history.epoch !== epoch) {
    return { action: 'restart', recovered: false, reason: 'epoch-changed' };
  }
  if (afterSeq > 0 && history.firstSeq !== null && history.firstSeq > afterSeq + 1) {
    return { action: 'serve', recovered: false, reason: 'trimmed' };
  }
  if (afterSeq > history.headSeq && history.headSeq > 0 && history.epoch !== 0) {
    return { action: 'restart', recovered: false, reason: 'ahead-of-history' };
  }
  return { action: 'serve', recovered: true };
}
