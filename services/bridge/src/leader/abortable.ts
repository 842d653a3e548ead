/** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Whether `signal` has aborted, read afresh. A loop that checks `signal.aborted`, awaits, and checks again
 * needs this: TypeScript keeps the first check's narrowing across the await (it cannot see the abort that
 * happened meanwhile), so the second `signal.aborted` would type as `false` and the strict lint would call
 * it dead code.
 */
export function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** A sleep that another party can cut short with `wake()`. */
export class Waker {
  private wakeUp: (() => void) | null = null;
  private pending = false;

  /** Sleeps up to `ms`; returns early on `wake()` (also one that came while nobody slept). */
  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
    });
  }

  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.pending = true;
  }
}
