import { AgentBridgeError, ErrorCode } from '@agent-bridge/protocol';
import { Cluster } from 'ioredis';
import type { RedisConnection } from './connections';

/**
 * A write was not confirmed by enough replicas in time (or the connection changed servers before it was):
 * it may be lost in a failover, so it is not acknowledged. Retrying the same idempotent write is safe.
 */
export class ReplicationError extends AgentBridgeError {
  constructor(
    readonly wanted: number,
    readonly acked: number,
    reason: string,
  ) {
    super(ErrorCode.Unavailable, `write not confirmed by ${wanted} replica(s): ${reason}`, {
      details: { wanted, acked },
    });
  }
}

// 'close' events seen per connection: a WAIT answered after a close may come from another server (a new
// master after a failover) than the one that took the write, so it proves nothing about that write.
const closes = new WeakMap<RedisConnection, { n: number }>();

function closeCounter(conn: RedisConnection): { n: number } {
  let c = closes.get(conn);
  if (!c) {
    const counter = { n: 0 };
    conn.on('close', () => counter.n++);
    closes.set(conn, counter);
    c = counter;
  }
  return c;
}

/** How many replicas must confirm a write ({@link replicated}); 0 turns the check off. */
export interface ReplicationPolicy {
  replicas: number;
  timeoutMs: number;
}

/**
 * Runs `write` on `conn`, then Redis `WAIT replicas timeoutMs` on the same connection: resolves with the
 * write's result only when at least `replicas` replicas hold everything this connection wrote, on the
 * same TCP connection (no close in between). Otherwise throws {@link ReplicationError}, and the caller
 * retries its idempotent write. With `replicas` 0 (or a Redis Cluster client, where WAIT would reach an
 * arbitrary node) it is just `write()`.
 *
 * Cost: one round trip plus the replicas' acknowledgment (docs/decisions/0005).
 */
export async function replicated<T>(
  conn: RedisConnection,
  policy: ReplicationPolicy,
  write: () => Promise<T>,
): Promise<T> {
  if (policy.replicas <= 0 || conn instanceof Cluster) return write();
  const counter = closeCounter(conn);
  const before = counter.n;
  const result = await write();
  const acked = Number(await conn.call('WAIT', policy.replicas, policy.timeoutMs));
  if (counter.n !== before) throw new ReplicationError(policy.replicas, acked, 'the connection changed servers');
  if (acked < policy.replicas) {
    throw new ReplicationError(policy.replicas, acked, `${acked} within ${policy.timeoutMs} ms`);
  }
  return result;
}

/**
 * {@link replicated} for an idempotent write, retried with capped backoff while it is not confirmed, for
 * at most `retryForMs`; other errors are thrown at once.
 */
export async function replicatedWithRetry<T>(
  conn: RedisConnection,
  policy: ReplicationPolicy,
  retryForMs: number,
  write: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + retryForMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await replicated(conn, policy, write);
    } catch (err) {
      const delay = Math.min(50 * 2 ** attempt, 2_000);
      if (!(err instanceof ReplicationError) || Date.now() + delay > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
