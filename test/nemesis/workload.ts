import type { AgentPublisher, RunHandle } from '@agent-bridge/agent-sdk';
import { sleep } from '@agent-bridge/testing';
import type { EmittedEvent, RunHistory } from './history';
import type { Prng } from './prng';

export interface WorkloadOptions {
  /** Concurrent run lanes (each runs one run after another). @defaultValue 6 */
  lanes?: number;
  /** Users the runs belong to (`user-0` …). @defaultValue 2 */
  users?: number;
  /** How long one emit may keep failing (re-sent with the same id) before it counts as unacknowledged. @defaultValue 60000 */
  emitRetryWindowMs?: number;
}

/**
 * A bursty producer: lanes that start runs one after another, each run a few bursts of events emitted
 * in one tick (so they travel as batch jobs) with pauses between, ending with `agent_completed`. A failed
 * emit is sent again with the same event id (the SDK's idempotent retry) until it is acknowledged; what
 * the run history must hold is the acknowledged events in seq order.
 */
export class Workload {
  readonly runs: RunHistory[] = [];
  private readonly acked = new Map<string, Map<number, EmittedEvent>>();
  private readonly lanes: number;
  private readonly users: number;
  private readonly retryWindowMs: number;

  constructor(
    private readonly publisher: AgentPublisher,
    private readonly rng: Prng,
    private readonly onRun: (runId: string, userId: string) => void,
    options: WorkloadOptions = {},
  ) {
    this.lanes = options.lanes ?? 6;
    this.users = options.users ?? 2;
    this.retryWindowMs = options.emitRetryWindowMs ?? 60_000;
  }

  /** Runs lanes until `deadline` (epoch ms); every run started is finished (completed) before it resolves. */
  async run(deadline: number, tag: string): Promise<void> {
    await Promise.all(Array.from({ length: this.lanes }, (_, i) => this.lane(i, this.rng.fork(i), deadline, tag)));
    for (const run of this.runs) {
      run.emitted = [...(this.acked.get(run.runId) ?? new Map<number, EmittedEvent>()).entries()]
        .sort(([a], [b]) => a - b)
        .map(([, e]) => e);
    }
  }

  private async lane(lane: number, rng: Prng, deadline: number, tag: string): Promise<void> {
    for (let n = 0; Date.now() < deadline; n++) {
      const runId = `${tag}-l${lane}-r${n}`;
      const userId = `user-${rng.int(0, this.users - 1)}`;
      const handle = await this.startRun(runId, userId, deadline + this.retryWindowMs);
      if (!handle) continue;
      const history: RunHistory = { runId, userId, emitted: [], unacknowledged: 0, stored: null };
      this.runs.push(history);
      this.acked.set(runId, new Map());
      this.onRun(runId, userId);
      const bursts = rng.int(2, 6);
      let k = 0;
      for (let b = 0; b < bursts; b++) {
        const size = rng.int(1, 30);
        const last = b === bursts - 1;
        const emits: Promise<void>[] = [];
        for (let i = 0; i < size; i++)
          emits.push(this.emit(history, handle, `e${k++}-${runId}`, 'agent_thinking', { delta: `b${b} i${i}` }));
        if (last)
          emits.push(this.emit(history, handle, `e${k++}-${runId}`, 'agent_completed', { output: `${k - 1} events` }));
        await Promise.all(emits);
        if (!last) await sleep(rng.int(20, 600));
      }
      handle.close();
    }
  }

  private async startRun(runId: string, userId: string, giveUpAt: number): Promise<RunHandle | null> {
    for (;;) {
      try {
        return await this.publisher.startRun({ runId, userId, agent: 'nemesis' });
      } catch {
        if (Date.now() > giveUpAt) return null;
        await sleep(250);
      }
    }
  }

  /** Emits until acknowledged (same id each time), within the retry window. */
  private async emit(run: RunHistory, handle: RunHandle, id: string, type: string, payload: unknown): Promise<void> {
    const giveUpAt = Date.now() + this.retryWindowMs;
    for (;;) {
      try {
        const { seq } = await handle.emit(type, payload, { id });
        this.acked.get(run.runId)!.set(seq, { id, type, payload: JSON.stringify(payload) });
        return;
      } catch {
        if (Date.now() > giveUpAt) {
          run.unacknowledged++;
          return;
        }
        await sleep(200);
      }
    }
  }
}
