import type { KeyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';
import { sleepUnlessAborted } from './abortable';
import { FencingStore } from './fencing';
import { FencedError } from '@agent-bridge/protocol';
import type { LeaderContext } from './leader-elector';

/**
 * Leader duty: removes dead membership records of both roles every heartbeat interval, fenced by the
 * leader's epoch. A FencedError ends the term (rethrown to the elector); other errors are logged.
 */
export async function membershipHousekeeping(
  ctx: LeaderContext,
  deps: { connection: RedisConnection; keys: KeyLayout; intervalMs: number; logger: Logger },
): Promise<void> {
  const fencing = new FencingStore(deps.connection, deps.keys);
  while (!ctx.signal.aborted) {
    try {
      for (const role of ['bridge', 'gateway'] as const) {
        const removed = await fencing.removeDeadMembers(ctx.epoch, role);
        if (removed.length > 0) deps.logger.info({ role, removed }, 'removed dead members');
      }
    } catch (err) {
      if (err instanceof FencedError) throw err;
      if (!ctx.signal.aborted) deps.logger.warn({ err }, 'leader work failed');
    }
    await sleepUnlessAborted(deps.intervalMs, ctx.signal);
  }
}
