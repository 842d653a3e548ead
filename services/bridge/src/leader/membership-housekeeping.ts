import type { KeyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';
import { isAborted, sleepUnlessAborted } from './abortable';
import { type LeaderContext, leaderWork } from './duty';
import { FencingStore } from './fencing';

/**
 * Leader duty: removes dead membership records of both roles every heartbeat interval, fenced by the
 * leader's epoch. A FencedError ends the term (rethrown to the elector); other errors are logged.
 */
export async function membershipHousekeeping(
  ctx: LeaderContext,
  deps: { connection: RedisConnection; keys: KeyLayout; intervalMs: number; logger: Logger },
): Promise<void> {
  const fencing = new FencingStore(deps.connection, deps.keys);
  while (!isAborted(ctx.signal)) {
    await leaderWork(ctx, deps.logger, async () => {
      for (const role of ['bridge', 'gateway'] as const) {
        const removed = await fencing.removeDeadMembers(ctx.epoch, role);
        if (removed.length > 0) deps.logger.info({ role, removed }, 'removed dead members');
      }
    });
    await sleepUnlessAborted(deps.intervalMs, ctx.signal);
  }
}
