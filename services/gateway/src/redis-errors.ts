import type { RedisConnection } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';

/**
 * Gives a Redis connection an `error` listener that logs: the first error after the connection was ready
 * at `warn`, the ones that follow while it reconnects at `debug` (ioredis emits one per failed attempt).
 * Without a listener, Node prints the error as unhandled and the Socket.IO adapter warns "missing 'error'
 * handler on this Redis client"; either way nothing is lost, ioredis keeps reconnecting.
 * Returns a function that removes the listeners.
 */
export function logRedisErrors(conn: RedisConnection, connection: string, logger: Logger): () => void {
  let quiet = false;
  const onError = (err: Error): void => {
    if (quiet) logger.debug({ err, connection }, 'redis connection still failing');
    else logger.warn({ err, connection }, 'redis connection error (reconnecting)');
    quiet = true;
  };
  const onReady = (): void => {
    quiet = false;
  };
  conn.on('error', onError);
  conn.on('ready', onReady);
  return () => {
    conn.off('error', onError);
    conn.off('ready', onReady);
  };
}
