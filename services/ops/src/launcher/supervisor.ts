/** How a supervised process is restarted. */
export interface RestartPolicy {
  /** Restarts tried in a row (without a stable life in between) before giving up. @defaultValue 5 */
  maxRestarts: number;
  /** Delay before the first restart; each further try doubles it. @defaultValue 500 */
  initialDelayMs: number;
  /** Upper bound of the delay. @defaultValue 15000 */
  maxDelayMs: number;
  /** A life that lasted this long after it was ready clears the count of failed tries. @defaultValue 60000 */
  stableAfterMs: number;
}

/** Fills in a {@link RestartPolicy}, validating it (`0` is honoured where it makes sense). */
export function restartPolicy(p: Partial<RestartPolicy> = {}): RestartPolicy {
  const out: RestartPolicy = {
    maxRestarts: p.maxRestarts ?? 5,
    initialDelayMs: p.initialDelayMs ?? 500,
    maxDelayMs: p.maxDelayMs ?? 15_000,
    stableAfterMs: p.stableAfterMs ?? 60_000,
  };
  if (!Number.isInteger(out.maxRestarts) || out.maxRestarts < 0)
    throw new RangeError('maxRestarts must be an integer ≥ 0');
  if (!(out.initialDelayMs >= 0) || !(out.maxDelayMs >= out.initialDelayMs)) {
    throw new RangeError('restart delays must satisfy 0 ≤ initialDelayMs ≤ maxDelayMs');
  }
  if (!(out.stableAfterMs >= 0)) throw new RangeError('stableAfterMs must be ≥ 0');
  return out;
}

/** The delay before restart try `attempt` (1-based): exponential, capped. */
export function restartDelayMs(policy: RestartPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** One life of a supervised process: when it exited, and how. */
export interface Life {
  readonly pid: number | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** What a {@link Supervisor} reports (the launcher prints each one). */
export type SupervisorEvent =
  | { type: 'died'; name: string; pid: number | undefined; exit: string }
  | { type: 'restarting'; name: string; attempt: number; of: number; delayMs: number }
  | { type: 'restart-failed'; name: string; attempt: number; error: Error }
  | { type: 'restarted'; name: string; attempt: number; pid: number | undefined }
  | { type: 'gave-up'; name: string; error: SupervisionGaveUpError };

/** A supervised process kept dying: the supervisor stopped restarting it. */
export class SupervisionGaveUpError extends Error {
  constructor(
    readonly process: string,
    readonly attempts: number,
    readonly lastFailure: string,
  ) {
    super(`${process} kept dying: gave up after ${attempts} restart tries (last: ${lastFailure})`);
    this.name = 'SupervisionGaveUpError';
  }
}

const describeExit = (e: { code: number | null; signal: NodeJS.Signals | null }): string =>
  e.signal ? `killed by ${e.signal}` : `exit code ${String(e.code)}`;

/**
 * Keeps one process alive: when its current life ends (while supervision is on), it reports the death,
 * waits an exponentially growing delay and calls `restart` (which starts the process and resolves once it
 * is ready, or throws). A restart that fails or a life that ends before `stableAfterMs` counts as a
 * failed try; after `maxRestarts` failed tries in a row it reports `gave-up` and stops. `stop()` ends
 * supervision (used when the launcher shuts down): no restart happens after it. Costs one timer at most.
 */
export class Supervisor {
  private readonly policy: RestartPolicy;
  private failures = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    readonly name: string,
    policy: Partial<RestartPolicy>,
    private readonly restart: () => Promise<Life>,
    private readonly report: (event: SupervisorEvent) => void,
  ) {
    this.policy = restartPolicy(policy);
  }

  /** Supervises `life` (a ready process). */
  watch(life: Life): void {
    const readyAt = Date.now();
    void life.exited.then((exit) => {
      if (this.stopped) return;
      if (Date.now() - readyAt >= this.policy.stableAfterMs) this.failures = 0;
      const how = describeExit(exit);
      this.report({ type: 'died', name: this.name, pid: life.pid, exit: how });
      void this.tryAgain(how);
    });
  }

  private async tryAgain(lastFailure: string): Promise<void> {
    let failure = lastFailure;
    while (!this.stopped) {
      this.failures++;
      if (this.failures > this.policy.maxRestarts) {
        const error = new SupervisionGaveUpError(this.name, this.policy.maxRestarts, failure);
        this.stopped = true;
        this.report({ type: 'gave-up', name: this.name, error });
        return;
      }
      const delayMs = restartDelayMs(this.policy, this.failures);
      this.report({
        type: 'restarting',
        name: this.name,
        attempt: this.failures,
        of: this.policy.maxRestarts,
        delayMs,
      });
      await this.sleep(delayMs);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- TS keeps `stopped` narrowed across the await; stop() may run meanwhile
      if (this.stopped) return;
      try {
        const life = await this.restart();
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- as above, across the restart
        if (this.stopped) return;
        this.report({ type: 'restarted', name: this.name, attempt: this.failures, pid: life.pid });
        this.watch(life);
        return;
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        failure = error.message.split('\n')[0] ?? 'restart failed';
        this.report({ type: 'restart-failed', name: this.name, attempt: this.failures, error });
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  /** Ends supervision: a pending restart is cancelled and no later death is acted on. Idempotent. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.wake?.();
    this.wake = null;
  }
}
