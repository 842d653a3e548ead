// A steady load on a running cluster for the status page charts: a few runs, each watched by one client
// per gateway (so every gateway delivers), with events emitted at a fixed rate until stopped.
import { AgentPublisher, type RunHandle } from '@agent-bridge/agent-sdk';
import { type BridgeClient, connect } from '@agent-bridge/client';
import { type E2ECluster, tokenFor } from '../e2e/harness';

export interface LoadOptions {
  /** Runs emitting in parallel. @defaultValue 4 */
  runs?: number;
  /** Events per second over all runs. @defaultValue 20 */
  eventsPerSecond?: number;
  /** Part of the run ids (two loads on one cluster need different ones). @defaultValue 'chart' */
  name?: string;
}

/** Emits and watches until `stop()`; `delivered` counts what the watching clients received. */
export class ChartLoad {
  delivered = 0;
  emitted = 0;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<unknown>[] = [];

  private constructor(
    private readonly publisher: AgentPublisher,
    private readonly handles: RunHandle[],
    private readonly clients: BridgeClient[],
  ) {}

  static async start(cluster: E2ECluster, options: LoadOptions = {}): Promise<ChartLoad> {
    const runs = options.runs ?? 4;
    const perSecond = options.eventsPerSecond ?? 20;
    const publisher = await AgentPublisher.create({ config: cluster.config });
    const userId = 'chart-user';
    const handles: RunHandle[] = [];
    for (let i = 0; i < runs; i++) {
      handles.push(
        await publisher.startRun({
          userId,
          agent: 'chart-load',
          runId: `${options.name ?? 'chart'}-${cluster.prefix}-${i}`,
        }),
      );
    }
    const clients = cluster.gateways.map((g) => connect([g.url], { token: () => tokenFor(cluster, userId) }));
    const load = new ChartLoad(publisher, handles, clients);
    await Promise.all(
      clients.flatMap((c) =>
        handles.map(
          (h) =>
            c.subscribe(h.runId, () => {
              load.delivered++;
            }).ready,
        ),
      ),
    );
    // Emit in ticks of 100 ms, spread over the runs.
    const perTick = Math.max(1, Math.round(perSecond / 10));
    let n = 0;
    load.timer = setInterval(() => {
      for (let k = 0; k < perTick; k++) {
        const h = handles[n++ % handles.length];
        if (!h) continue;
        const p = h.emit('tool_executing', { toolCallId: `call-${n}`, tool: 'search', args: { q: `query ${n}` } }).then(
          () => {
            load.emitted++;
          },
          () => undefined,
        );
        load.inFlight.push(p);
      }
      if (load.inFlight.length > 1_000) load.inFlight = load.inFlight.slice(-100);
    }, 100);
    return load;
  }

  /** Stops emitting, waits for emits in flight, closes the clients and the publisher. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled(this.inFlight);
    for (const c of this.clients) c.close();
    for (const h of this.handles) h.close();
    await this.publisher.close();
  }
}
