import type { EventCommitResult, PackedEvent, RunCommitState, RunStore } from '@agent-bridge/redis';

/** What {@link CommitBatcher.commit} resolves to: the run's state after the call, and one result per event. */
export interface BatchedCommit {
  state: RunCommitState;
  results: EventCommitResult[];
}

interface Waiter {
  events: readonly PackedEvent[];
  resolve: (r: BatchedCommit) => void;
  reject: (err: unknown) => void;
}

/**
 * Commits the events that a replica's concurrently processed jobs hand in during the same turn of the event
 * loop together: one script call per run for all of them (sorted by seq), all calls sent at once on one
 * connection (so they share the round trip). A run's events arriving from several jobs at once — the
 * normal case when one run streams tokens faster than a job round trip — become one atomic commit instead
 * of several, with no reorder-buffer detour. Results go back to each caller for its own events.
 *
 * Cost: one setImmediate per turn; per run one EVALSHA; per event one array slot.
 */
export class CommitBatcher {
  private pending = new Map<string, Waiter[]>();
  private scheduled = false;

  /** `onState` sees each run's state after each script call (e.g. to index gapped runs). */
  constructor(
    private readonly store: RunStore,
    private readonly onState: (runId: string, state: RunCommitState) => Promise<void> | void = () => undefined,
  ) {}

  /** Commits `events` of `runId` together with whatever else this turn brings; results in `events` order. */
  commit(runId: string, events: readonly PackedEvent[]): Promise<BatchedCommit> {
    return new Promise<BatchedCommit>((resolve, reject) => {
      let list = this.pending.get(runId);
      if (!list) this.pending.set(runId, (list = []));
      list.push({ events, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    for (const [runId, waiters] of batch) void this.flushRun(runId, waiters);
  }

  private async flushRun(runId: string, waiters: Waiter[]): Promise<void> {
    try {
      // Every event once per call, sorted by seq; each waiter's event maps to its slot in the call.
      const all: { event: PackedEvent; waiter: number; index: number }[] = [];
      for (const [w, waiter] of waiters.entries()) {
        for (const [index, event] of waiter.events.entries()) all.push({ event, waiter: w, index });
      }
      all.sort((a, b) => a.event.seq - b.event.seq);
      const reply = await this.store.commit(
        runId,
        all.map((a) => a.event),
      );
      const { events: results, ...state } = reply;
      await this.onState(runId, state);
      if (results.length !== all.length) {
        throw new Error(`commit of run ${runId}: ${results.length} results for ${all.length} events`);
      }
      const perWaiter = waiters.map((w) => new Array<EventCommitResult>(w.events.length));
      for (const [i, slot] of all.entries()) {
        const mine = perWaiter[slot.waiter];
        const result = results[i];
        if (mine && result) mine[slot.index] = result;
      }
      for (const [w, waiter] of waiters.entries()) waiter.resolve({ state, results: perWaiter[w] ?? [] });
    } catch (err) {
      for (const waiter of waiters) waiter.reject(err);
    }
  }
}
