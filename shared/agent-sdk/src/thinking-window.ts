/** Settings of the coalescing of `agent_thinking` deltas (from `config.events.thinkingCoalesce*`). */
export interface CoalesceSettings {
  /** Window opened by a run's first pending delta; 0 = every delta is its own event. */
  windowMs: number;
  /** Most JSON-escaped UTF-8 bytes of the joined delta. */
  maxBytes: number;
  /** Most deltas joined into one event. */
  maxDeltas: number;
}

/** What a closed window sends: one `agent_thinking` event. */
export interface ClosedWindow {
  id: string;
  seq: number;
  /** Emit time of the FIRST delta (the event's `ts`: latency measured from it includes the window). */
  ts: number;
  delta: string;
}

/**
 * The open coalescing window of one run: consecutive `agent_thinking` deltas that travel as ONE event.
 * The event's id and seq are taken when the window opens (so its place in the run's order is the place
 * of its first delta); the window closes when its time is up (`onDue`), when it is full, or when its run
 * emits anything else or ends — then {@link take} hands over the joined text. Order and text are kept
 * exactly: the deltas are joined in call order, nothing is trimmed or added.
 */
export class ThinkingWindow {
  private parts: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private id = '';
  private seq = 0;
  private ts = 0;

  constructor(
    private readonly settings: CoalesceSettings,
    /** Largest escaped delta a window may hold (the payload bound minus the `{"delta":""}` wrapper). */
    private readonly limitBytes: number,
    private readonly onDue: () => void,
  ) {}

  get isOpen(): boolean {
    return this.parts.length > 0;
  }

  /** The open window's event id and seq. */
  get current(): { id: string; seq: number } {
    return { id: this.id, seq: this.seq };
  }

  /** Whether a delta of `size` escaped bytes fits an empty window at all. */
  fitsAlone(size: number): boolean {
    return size <= Math.min(this.settings.maxBytes, this.limitBytes);
  }

  /** Whether a delta of `size` escaped bytes still fits the open window. */
  fits(size: number): boolean {
    return (
      this.parts.length < this.settings.maxDeltas &&
      this.bytes + size <= Math.min(this.settings.maxBytes, this.limitBytes)
    );
  }

  /** Opens the window for the event `id` / `seq` (emit time `ts`); it closes itself after `windowMs`. */
  open(id: string, seq: number, ts: number): void {
    this.id = id;
    this.seq = seq;
    this.ts = ts;
    this.timer = setTimeout(this.onDue, this.settings.windowMs);
  }

  add(delta: string, size: number): void {
    this.parts.push(delta);
    this.bytes += size;
  }

  /** Closes the window: its joined delta, or null when none is open. */
  take(): ClosedWindow | null {
    if (this.parts.length === 0) return null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const closed = { id: this.id, seq: this.seq, ts: this.ts, delta: this.parts.join('') };
    this.parts = [];
    this.bytes = 0;
    return closed;
  }
}

/** UTF-8 bytes of a string once JSON-escaped (without the quotes). */
export function escapedSize(text: string): number {
  // Fast path: printable ASCII without `"` or `\` is its own escape.
  if (!/[^\x20-\x21\x23-\x5b\x5d-\x7e]/.test(text)) return text.length;
  return Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;
}
