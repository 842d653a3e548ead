import { FencedError } from '@agent-bridge/protocol';
import type { Logger } from '@agent-bridge/telemetry';

/** What a leader-only duty gets: its fencing epoch and a signal that fires when leadership ends. */
export interface LeaderContext {
  readonly leaderId: string;
  readonly epoch: number;
  readonly signal: AbortSignal;
}

/** A leader-only duty: runs from the moment leadership starts until `ctx.signal` aborts. */
export type LeaderDuty = (ctx: LeaderContext) => Promise<void>;

/**
 * Called after leadership was lost for want of a lock quorum (no other replica can lead either), before
 * the record is resigned: the last moment the epoch is still valid for a fenced "why" note.
 */
export type QuorumLostHook = (ctx: LeaderContext, reason: string) => Promise<void>;

/**
 * Runs one round of a duty's work: a FencedError ends the term (rethrown to the elector, which steps
 * down), any other error is logged unless leadership already ended, and the duty carries on.
 */
export async function leaderWork(ctx: LeaderContext, logger: Logger, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof FencedError) throw err;
    if (!ctx.signal.aborted) logger.warn({ err }, 'leader work failed');
  }
}

/**
 * Runs `duty` for one term: a FencedError ends the term through `onFenced` (a newer leader exists), any
 * other failure is logged unless the term already ended. Never rejects.
 */
export async function runDuty(
  name: string,
  duty: LeaderDuty,
  ctx: LeaderContext,
  onFenced: (reason: string) => void,
  logger: Logger,
): Promise<void> {
  try {
    await duty(ctx);
  } catch (err) {
    if (err instanceof FencedError) onFenced(`duty ${name} was fenced: ${err.message}`);
    else if (!ctx.signal.aborted) logger.error({ err, duty: name }, 'leader duty failed');
  }
}
