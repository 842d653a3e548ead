import { randomUUID } from 'node:crypto';
import { type EventEnvelope, StandardEventType } from '@agent-bridge/protocol';
import { type CoalesceSettings, ThinkingWindow, escapedSize } from './thinking-window';

/** JSON bytes of an `agent_thinking` payload around its escaped delta: `{"delta":""}`. */
const THINKING_WRAPPER_BYTES = 12;

/**
 * The coalescing of one run's `agent_thinking` deltas: its open {@link ThinkingWindow}, the closed windows
 * on their way to the queue, and the failure of one of them — a window's enqueue happens in the
 * background, so its error is kept for the run's next emit or flush to reject with.
 */
export class ThinkingCoalescer {
  private readonly window: ThinkingWindow;
  /** Why the enqueue of a coalesced window failed; the run's next emit rejects with it. */
  private failure: Error | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly settings: CoalesceSettings,
    maxPayloadBytes: number,
    private readonly runId: string,
    /** Numbers nothing: enqueues the window's event (its id and seq were taken when it opened). */
    private readonly dispatch: (event: EventEnvelope) => Promise<unknown>,
  ) {
    this.window = new ThinkingWindow(settings, maxPayloadBytes - THINKING_WRAPPER_BYTES, () => {
      void this.send();
    });
  }

  /** False when `thinkingCoalesceMs` is 0: every delta is its own event. */
  get enabled(): boolean {
    return this.settings.windowMs > 0;
  }

  /**
   * Adds `delta` to the open window, first sending that window if the delta does not fit; a window is
   * opened with the seq `nextSeq()` returns (which may throw, e.g. backpressure: then nothing is opened).
   * Returns the window event's id and seq, or null when the delta is too large to share any window: it
   * must travel as its own event.
   */
  add(delta: string, nextSeq: () => number): { id: string; seq: number } | null {
    const size = escapedSize(delta);
    if (!this.window.fits(size)) {
      void this.send();
      if (!this.window.fitsAlone(size)) return null;
    }
    if (!this.window.isOpen) this.window.open(`evt-${randomUUID()}`, nextSeq(), Date.now());
    this.window.add(delta, size);
    return this.window.current;
  }

  /**
   * Closes the open window (if any) into one event and enqueues it. Never rejects: a failure is recorded
   * for the run's next emit or flush.
   */
  send(): Promise<void> {
    const closed = this.window.take();
    if (!closed) return Promise.resolve();
    const event: EventEnvelope = {
      id: closed.id,
      runId: this.runId,
      seq: closed.seq,
      epoch: 0,
      type: StandardEventType.AgentThinking,
      ts: closed.ts,
      payload: { delta: closed.delta },
    };
    const sending: Promise<void> = this.dispatch(event).then(
      () => undefined,
      (err: unknown) => {
        // The publisher rejects with an AgentBridgeError; anything else is wrapped to be thrown as an Error.
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      },
    );
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
    return sending;
  }

  /** Sends the open window and resolves once every window is on the queue; rejects with a window's failure. */
  async flush(): Promise<void> {
    void this.send();
    await Promise.all([...this.inFlight]);
    this.throwFailure();
  }

  /** Throws (once) the error of a window whose enqueue failed. */
  throwFailure(): void {
    const failure = this.failure;
    if (failure === null) return;
    this.failure = null;
    throw failure;
  }
}
