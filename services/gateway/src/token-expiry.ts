/** Longest delay `setTimeout` takes; later deadlines are reached in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** What a {@link TokenExpiryWatch} does to its connection. */
export interface TokenExpiryTarget {
  /** Tells the client its token expires at `expiresAt` (epoch ms) and it should `reauth`. */
  warn(expiresAt: number): void;
  /** The token expired without a `reauth`: tell the client and close the connection. */
  expire(expiresAt: number): void;
}

/** Options of a {@link TokenExpiryWatch}. */
export interface TokenExpiryOptions {
  /** How long before expiry the client is warned. @defaultValue 60000 (config `AB_TOKEN_EXPIRY_WARNING_MS`) */
  warningMs?: number;
  /** Grace after `exp` for clock skew. @defaultValue 0 (config `AB_JWT_CLOCK_TOLERANCE_MS`) */
  toleranceMs?: number;
}

/**
 * Enforces a token's expiry on a live connection: warns the client `warningMs` before `exp`, and at `exp`
 * (plus the clock tolerance) expires the connection — unless `arm()` was called again with the expiry of
 * a fresh token (`reauth`). Two timers per connection, nothing else; `stop()` is idempotent.
 */
export class TokenExpiryWatch {
  private warnTimer: NodeJS.Timeout | null = null;
  private expireTimer: NodeJS.Timeout | null = null;
  private expiresAtMs = 0;
  private stopped = false;
  private readonly warningMs: number;
  private readonly toleranceMs: number;

  constructor(
    private readonly target: TokenExpiryTarget,
    options: TokenExpiryOptions = {},
  ) {
    this.warningMs = options.warningMs ?? 60_000;
    this.toleranceMs = options.toleranceMs ?? 0;
  }

  /** The expiry currently enforced (epoch ms). */
  get expiresAt(): number {
    return this.expiresAtMs;
  }

  /** (Re)starts the timers for a token that expires at `expiresAtMs`. */
  arm(expiresAtMs: number): void {
    if (this.stopped) return;
    this.clear();
    this.expiresAtMs = expiresAtMs;
    // A token shorter-lived than the warning window is warned about at once (the deadline has passed).
    this.warnTimer = this.at(expiresAtMs - this.warningMs, () => this.target.warn(expiresAtMs));
    this.expireTimer = this.at(expiresAtMs + this.toleranceMs, () => {
      this.stopped = true;
      this.target.expire(expiresAtMs);
    });
  }

  /** Stops both timers for good (the connection closed). Idempotent. */
  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private clear(): void {
    if (this.warnTimer) clearTimeout(this.warnTimer);
    if (this.expireTimer) clearTimeout(this.expireTimer);
    this.warnTimer = null;
    this.expireTimer = null;
  }

  /**
   * Calls `fn` once the wall clock reaches `deadline` (epoch ms), never before: a timer that fires early
   * (timers run on a monotonic clock that can be a millisecond ahead of `Date.now()`) or that had to stop
   * short of a deadline beyond setTimeout's range waits the rest.
   */
  private at(deadline: number, fn: () => void): NodeJS.Timeout {
    const step = Math.min(Math.max(0, deadline - Date.now()), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      if (Date.now() < deadline) {
        const rest = this.at(deadline, fn);
        if (this.warnTimer === timer) this.warnTimer = rest;
        else if (this.expireTimer === timer) this.expireTimer = rest;
        return;
      }
      fn();
    }, step);
    timer.unref();
    return timer;
  }
}
