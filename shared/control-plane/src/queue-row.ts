import type { QueueStats } from '@agent-bridge/protocol';

/**
 * The cells of one queue's row in the status tables — the status page's and `agent-bridge status`' — so
 * both show the same columns in the same order: name (marked when paused), the counts, then the lag as
 * `lag` formats it (each surface has its own notation for durations).
 *
 * The status page bundles this for the browser through the `@agent-bridge/control-plane/queue-row` entry
 * (the package's main entry pulls ioredis and BullMQ): keep this module free of runtime imports.
 */
export function queueRow(q: QueueStats, lag: (ms: number) => string): (string | number)[] {
  return [q.name + (q.paused ? ' (paused)' : ''), q.waiting, q.active, q.delayed, q.failed, q.completed, lag(q.lagMs)];
}
