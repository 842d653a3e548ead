import type { AppConfig } from '@agent-bridge/config';
import { keyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';
import { commitGap, removeGappedRun } from './commit';

/** What {@link sweepGaps} needs. */
export interface SweepGapsDeps {
  config: AppConfig;
  /** Command-role connection; not closed. */
  connection: RedisConnection;
  logger: Logger;
}

/**
 * Leader duty: unsticks runs whose head has waited for a missing seq longer than
 * `config.events.gapTimeoutMs` (a producer died between numbering and enqueueing). For each such run it
 * commits an explicit `gap` event (payload `{ missingSeq, reason }`) at every missing seq up to the first
 * buffered one, releases the buffered events behind them, and publishes all of it to the run's room (in
 * the same atomic script).
 * Idempotent and safe next to the routers: the commit script re-checks everything atomically.
 * Stops between runs when `signal` aborts (leadership lost). Returns the number of gap events committed.
 */
export async function sweepGaps(deps: SweepGapsDeps, signal: AbortSignal): Promise<number> {
  const { config, connection, logger } = deps;
  const keys = keyLayout(config.keyPrefix);
  // Candidate selection uses this clock; the script decides with Redis TIME, so skew only delays a sweep.
  const cutoff = Date.now() - config.events.gapTimeoutMs;
  const flat = await connection.zrangebyscore(
    keys.gappedRuns,
    '-inf',
    cutoff,
    'WITHSCORES',
    'LIMIT',
    0,
    config.events.gapSweepBatch,
  );
  let gaps = 0;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (signal.aborted) break;
    const runId = flat[i] as string;
    const score = Number(flat[i + 1]);
    const result = await commitGap(connection, keys, config, runId);
    if (result.outcome === 'committed') {
      const gapEvents = result.envelopes.filter((e) => e.type === 'gap');
      gaps += gapEvents.length;
      logger.warn(
        { runId, missing: gapEvents.map((e) => e.seq), released: result.envelopes.length - gapEvents.length },
        'gap events committed for missing seqs',
      );
    }
    if (result.hasBuffered) {
      // Still (or again) blocked: re-index with the current gap start.
      await connection.zadd(keys.gappedRuns, result.gapSince, runId);
    } else {
      // No gap any more; a router that buffered meanwhile re-indexed with a newer score, which is kept.
      await removeGappedRun(connection, keys, runId, score);
    }
  }
  return gaps;
}
