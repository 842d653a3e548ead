import type { QueueStats } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import type { Queue } from 'bullmq';

/**
 * Counts, paused flag and lag (age of the oldest waiting job) of a BullMQ queue — read by the leader's
 * health check, the status page and the chart sampler alike, so they agree on what "lag" means. The lag
 * costs two small reads (the oldest id, then only its timestamp) instead of loading a whole job with its
 * payload.
 */
export async function queueStats(queue: Queue, client: RedisConnection, now = Date.now()): Promise<QueueStats> {
  const [counts, paused, oldestId] = await Promise.all([
    queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed', 'prioritized'),
    queue.isPaused(),
    // BullMQ adds to the head of `wait` and workers take from the tail: the tail is the oldest waiting job.
    client.lindex(queue.toKey('wait'), -1),
  ]);
  let lagMs = 0;
  if (oldestId) {
    const ts = Number(await client.hget(queue.toKey(oldestId), 'timestamp'));
    if (Number.isFinite(ts) && ts > 0) lagMs = Math.max(0, now - ts);
  }
  return {
    name: queue.name,
    waiting: (counts['wait'] ?? 0) + (counts['prioritized'] ?? 0),
    active: counts['active'] ?? 0,
    delayed: counts['delayed'] ?? 0,
    failed: counts['failed'] ?? 0,
    completed: counts['completed'] ?? 0,
    paused,
    lagMs,
  };
}
