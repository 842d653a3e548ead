import { ErrorCode, type WireError } from '@agent-bridge/protocol';

/**
 * The shortest wait before trying again that a gateway's refusal asks for, in ms (0: no hint, use the
 * normal backoff). `RATE_LIMITED` carries `details.retryAfterMs` (the end of the window): asking earlier is
 * refused again and, with many clients, keeps the gateway busy refusing. `TOO_MANY_CONNECTIONS` frees up
 * only when another connection of the same user or IP closes, which nobody can predict: it gets the longest
 * reconnect delay (`slowestMs`) unless the gateway names a time.
 */
export function retryAfterMs(error: Partial<WireError> | undefined, slowestMs: number): number {
  if (error === undefined) return 0;
  const details = error.details as { retryAfterMs?: unknown } | undefined;
  const hint = typeof details?.retryAfterMs === 'number' && details.retryAfterMs > 0 ? details.retryAfterMs : 0;
  if (error.code === ErrorCode.RateLimited) return hint;
  if (error.code === ErrorCode.TooManyConnections) return Math.max(hint, slowestMs);
  return 0;
}
