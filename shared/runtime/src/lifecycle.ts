import { IllegalStateError } from '@agent-bridge/protocol';

/** The states of a component built on {@link Lifecycle}. */
export type LifecycleState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/**
 * The lifecycle of a component with async start and close: an explicit state, a start that runs once
 * (concurrent callers share it) and is refused once closing, and a close that runs once (memoised) and
 * waits for a start in progress before cleaning up. It replaces the `closing ??= ...` / state-union
 * copies components used to write by hand.
 *
 * Cost: two promise slots per component.
 */
export class Lifecycle {
  /**
   * @param options.closeWaitsForStart - whether `close()` waits for a start in progress before cleaning up.
   *   Off for a component whose start may wait on Redis for long: its close then runs at once, and the
   *   steps it closes make the start fail. @defaultValue true
   */
  constructor(private readonly options: { closeWaitsForStart?: boolean } = {}) {}

  private current: LifecycleState = 'idle';
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  /** Current state, for `getStatus()` and health endpoints. */
  get state(): LifecycleState {
    return this.current;
  }

  /** True from the first `close()` on. */
  get isClosing(): boolean {
    return this.current === 'closing' || this.current === 'closed';
  }

  /**
   * Runs `run` once and moves idle → starting → running; later calls share the first one's promise.
   * Rejects with {@link IllegalStateError} once `close()` was called. A failed start leaves the state
   * `starting` (close still cleans up what it opened).
   */
  start(run: () => Promise<void>): Promise<void> {
    if (this.isClosing) return Promise.reject(new IllegalStateError(this.current, 'start'));
    this.starting ??= (async () => {
      this.current = 'starting';
      await run();
      if (!this.isClosing) this.current = 'running';
    })();
    return this.starting;
  }

  /** Throws {@link IllegalStateError} unless running. */
  assertRunning(action: string): void {
    if (this.current !== 'running') throw new IllegalStateError(this.current, action);
  }

  /**
   * Runs `run` once (later calls share its promise), after a start in progress settled (see the
   * constructor), moving to closing
   * and then closed (also when `run` rejects). `run` receives the state close found, so it can skip what
   * was never opened (e.g. `idle`).
   */
  close(run: (was: LifecycleState) => Promise<void>): Promise<void> {
    this.closing ??= (async () => {
      const was = this.current;
      this.current = 'closing';
      if (this.options.closeWaitsForStart ?? true) await this.starting?.catch(() => undefined);
      try {
        await run(was);
      } finally {
        this.current = 'closed';
      }
    })();
    return this.closing;
  }
}

/** One named cleanup step of {@link closeAll}: `run` may return a promise, which is awaited. */
export type CloseStep = readonly [name: string, run: () => unknown];

/**
 * Runs every step in order, each one even if an earlier one failed (a close must be total), and reports
 * each failure to `onError`. Resolves when all ran; never rejects.
 */
export async function closeAll(
  steps: readonly CloseStep[],
  onError: (err: unknown, step: string) => void,
): Promise<void> {
  for (const [name, run] of steps) {
    try {
      await run();
    } catch (err) {
      onError(err, name);
    }
  }
}
