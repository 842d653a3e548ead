import type { AppConfig } from '@agent-bridge/config';
import type { KeyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** The answer for a client IP: may its request be looked at, and if not, for how long not. */
export type LoginVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Failed ops logins per client IP: after `AB_LIMIT_OPS_LOGIN_FAILURES` wrong basic-auth credentials within
 * `AB_LIMIT_OPS_LOGIN_WINDOW_MS`, every request of that IP is refused (429) until the window ends, whatever
 * it sends, so a guesser learns nothing more. Other IPs are not affected.
 *
 * A request with credentials takes one point *before* they are checked and gives it back when they were
 * right: concurrent guesses (400 at once) cannot slip past the count, each one beyond the budget is
 * refused without being looked at. A success only returns its own point, never the earlier failures (on a
 * shared address one operator logging in must not buy a guesser a fresh budget). A request without
 * credentials is a browser's normal challenge, not a guess: it costs nothing but is refused when blocked.
 *
 * Counted in Redis, not in memory: behind a load balancer every ops replica would otherwise allow the full
 * budget (N replicas, N times the guesses) and a restart would forget the count. An IP over its budget is
 * then refused from this process's memory without a Redis call (`inMemoryBlockOnConsumed`), and if Redis
 * fails each replica keeps throttling with the same limits in its own memory (`insuranceLimiter`).
 */
export class LoginThrottle {
  private readonly limiter: RateLimiterRedis | null;

  constructor(config: AppConfig, connection: RedisConnection, keys: KeyLayout) {
    const points = config.limits.opsLoginFailures;
    const duration = config.limits.opsLoginWindowMs / 1_000;
    this.limiter =
      points === 0
        ? null
        : new RateLimiterRedis({
            storeClient: connection,
            keyPrefix: keys.opsLoginFailures,
            points,
            duration,
            inMemoryBlockOnConsumed: points + 1,
            insuranceLimiter: new RateLimiterMemory({ points, duration }),
          });
  }

  /** Whether a request of `ip` may be authenticated; with credentials, takes the point a failure costs. */
  async admit(ip: string, withCredentials: boolean): Promise<LoginVerdict> {
    const limiter = this.limiter;
    if (!limiter) return { allowed: true };
    if (!withCredentials) {
      const res = await limiter.get(ip);
      return res === null || res.consumedPoints < limiter.points ? { allowed: true } : refused(res);
    }
    try {
      await limiter.consume(ip);
      return { allowed: true };
    } catch (err) {
      if (err instanceof RateLimiterRes) return refused(err);
      throw err;
    }
  }

  /** The credentials `admit` took a point for were right: give that point back. */
  async succeeded(ip: string): Promise<void> {
    await this.limiter?.reward(ip, 1);
  }
}

function refused(res: RateLimiterRes): LoginVerdict {
  return { allowed: false, retryAfterMs: Math.max(1_000, res.msBeforeNext) };
}
