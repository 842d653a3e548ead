import type { AppConfig } from '@agent-bridge/config';
import type { RunStore } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';

/** What {@link sweepGaps} needs. */
export interface SweepGapsDeps {
  config: AppConfig;
  /** The run store (with a room message, for publishing). */
  store: RunStore;
  logger: Logger;
}

/**
 * Leader duty: unsticks runs whose head has waited for a missing seq longer than
 * `config.events.gapTimeoutMs` (a producer died between numbering and enqueueing). For each such run it
 * commits an explicit `gap` event (payload `{ missingSeq, reason }`) at every missing seq up to the first
 * buffered one (at most `gapSweepBatch` per run and sweep), releases the buffered events behind them, and
 * publishes all of it to the run's room (in the same atomic script). Buffered seqs are never further than
 * `reorderBufferMax` ahead of the head, so a run gets at most that many gap events in a row.
 * Idempotent and safe next to the routers: the commit script re-checks everything atomically.
 * Stops between runs when `signal` aborts (leadership lost). Returns the number of gap events committed.
 */
export async function sweepGaps(deps: SweepGapsDeps, signal: AbortSignal): Promise<number> {
  const { config, store, logger } = deps;
  // Candidate selection uses this clock; the script decides with Redis TIME, so skew only delays a sweep.
  const cutoff = Date.now() - config.events.gapTimeoutMs;
  const overdue = await store.overdueGappedRuns(cutoff, config.events.gapSweepBatch);
  let gaps = 0;
  for (const { runId, since } of overdue) {
    if (signal.aborted) break;
    const result = await store.sweepGap(runId, {
      gapTimeoutMs: config.events.gapTimeoutMs,
      most: config.events.gapSweepBatch,
    });
    if (result.outcome === 'committed') {
      gaps += result.gapEvents;
      logger.warn(
        {
          runId,
          missing: result.gapEvents > 0 ? [result.firstMissing, result.firstMissing + result.gapEvents - 1] : [],
          released: result.released,
          ...(result.previousEpoch > 0 ? { previousEpoch: result.previousEpoch, epoch: result.epoch } : {}),
        },
        result.previousEpoch > 0
          ? 'gap events committed in a new epoch: the run was written before a master change (possible loss)'
          : 'gap events committed for missing seqs',
      );
    }
    if (result.hasBuffered) {
      // Still (or again) blocked: re-index with the current gap start.
      await store.markGapped(runId, result.gapSince);
    } else {
      // No gap any more; a router that buffered meanwhile re-indexed with a newer score, which is kept.
      await store.unmarkGapped(runId, since);
    }
  }
  return gaps;
}
