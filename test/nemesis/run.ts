import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { signToken } from '@agent-bridge/auth';
import { keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { sleep, waitFor } from '@agent-bridge/testing';
import { type Violation, checkHistory } from './checker';
import { NemesisCluster } from './cluster';
import { DEFAULT_FAULTS, type FaultKind, SENTINEL_FAULTS, injectFault, planFault } from './faults';
import type { FaultRecord, NemesisHistory } from './history';
import { LeaderObserver, readStored } from './observer';
import { Prng } from './prng';
import { RawSubscriber, SdkSubscriber, type Subscriber } from './subscribers';
import { Workload } from './workload';

export interface NemesisOptions {
  seed: number;
  /** Length of the fault phase (the workload runs as long). */
  seconds: number;
  /** Fault kinds the schedule draws from. @defaultValue DEFAULT_FAULTS (SENTINEL_FAULTS in `sentinel` mode) */
  faults?: readonly FaultKind[];
  /**
   * Redis topology; in `sentinel` mode a `recovered: false` is accepted (the guarantee there is: nothing
   * lost, or the client is told). @defaultValue 'standalone'
   */
  mode?: 'standalone' | 'sentinel';
  /** Replicas of the data master in `sentinel` mode. @defaultValue 1 */
  replicas?: number;
  /** Bridge replicas. @defaultValue 2 */
  bridges?: number;
  /** Gateways (each gets an SDK and a raw subscriber per user). @defaultValue 2 */
  gateways?: number;
  /** Concurrent run lanes of the workload. @defaultValue 6 */
  lanes?: number;
  /**
   * How long after the last fault every subscriber must have every acknowledged event: the bound on
   * transport holes the run holds the cluster to. @defaultValue 60000
   */
  drainTimeoutMs?: number;
  /** Echo the services' output. @defaultValue false */
  echo?: boolean;
  /** Progress lines (seed, each fault). @defaultValue no output */
  log?: (line: string) => void;
}

export interface NemesisResult {
  history: NemesisHistory;
  violations: Violation[];
  stats: { runs: number; events: number; deliveries: number; faults: number; drainMs: number };
}

/**
 * One nemesis run: starts the cluster, runs the bursty workload with subscribers on every gateway while a
 * seeded schedule injects faults one after another, heals everything, waits (bounded) until every
 * subscriber caught up, reads back the stored histories and the published transitions, and judges the
 * recorded history. Tears everything down, also when it throws.
 */
export async function runNemesis(options: NemesisOptions): Promise<NemesisResult> {
  const log = options.log ?? (() => undefined);
  const mode = options.mode ?? 'standalone';
  const kinds = options.faults ?? (mode === 'sentinel' ? SENTINEL_FAULTS : DEFAULT_FAULTS);
  const root = new Prng(options.seed);
  const faultRng = root.fork(1);
  const workRng = root.fork(2);
  log(`nemesis: seed ${options.seed}, ${options.seconds} s, ${mode}, faults ${kinds.join(',')}`);

  const cluster = await NemesisCluster.start({
    bridges: options.bridges,
    gateways: options.gateways,
    echo: options.echo,
    mode,
    replicas: options.replicas,
  });
  const keys = keyLayout(cluster.prefix);
  const admin = createRedis(cluster.config, 'command', { name: 'nemesis-admin' });
  const agentConn = createRedis(cluster.config, 'command', { name: 'nemesis-agent' });
  // Both reconnect by themselves after a fault; their errors meanwhile are expected.
  for (const c of [admin, agentConn]) c.on('error', () => undefined);
  const subscribers: Subscriber[] = [];
  let publisher: AgentPublisher | null = null;
  const observer = new LeaderObserver(admin, keys, Date.now());
  try {
    publisher = await AgentPublisher.create({ config: cluster.config, connection: agentConn, name: 'nemesis-agent' });
    const users = 2;
    const urls = cluster.gateways.map((g) => cluster.gatewayUrl(g));
    for (const [gi] of urls.entries()) {
      const list = [...urls.slice(gi), ...urls.slice(0, gi)];
      for (let u = 0; u < users; u++) {
        const userId = `user-${u}`;
        const token = await signToken(userId, cluster.config.auth);
        subscribers.push(new SdkSubscriber(`sdk:gateway-${gi + 1}:${userId}`, userId, list, token));
        subscribers.push(new RawSubscriber(`raw:gateway-${gi + 1}:${userId}`, userId, list, token));
      }
    }
    observer.start();
    await waitFor('a leader', () => observer.observations.length > 0, { timeoutMs: 60_000 });

    const startedAt = Date.now();
    const deadline = startedAt + options.seconds * 1_000;
    const workload = new Workload(
      publisher,
      workRng,
      (runId, userId) => {
        for (const s of subscribers) if (s.history.userId === userId) s.add(runId);
      },
      { lanes: options.lanes, users },
    );
    const faults: FaultRecord[] = [];
    const nemesis = (async () => {
      await sleep(1_000);
      while (Date.now() < deadline) {
        const f = planFault(faultRng, kinds);
        const r = await injectFault(cluster, admin, f, startedAt);
        faults.push(r);
        log(`  +${(r.at / 1000).toFixed(1)}s ${r.kind} ${r.target}${r.durationMs ? ` for ${r.durationMs} ms` : ''}`);
        await sleep(f.pauseMs);
      }
    })();
    await Promise.all([workload.run(deadline, `n${options.seed}`), nemesis]);
    await cluster.heal();

    // Every subscriber must catch up within the bound, whatever the faults left behind.
    const healedAt = Date.now();
    const drainTimeoutMs = options.drainTimeoutMs ?? 60_000;
    const behind = (): number => {
      let n = 0;
      for (const run of workload.runs)
        for (const s of subscribers)
          if (s.history.userId === run.userId && s.delivered(run.runId) < run.emitted.length) n++;
      return n;
    };
    while (behind() > 0 && Date.now() - healedAt < drainTimeoutMs) await sleep(250);
    const drainMs = Date.now() - healedAt;
    await sleep(1_000); // late duplicates, if any, arrive now
    log(`  drained in ${drainMs} ms (${behind()} subscriptions still behind)`);

    for (const run of workload.runs) run.stored = await readStored(admin, keys, run.runId);
    observer.stop();
    const history: NemesisHistory = {
      seed: options.seed,
      startedAt,
      mode,
      runs: workload.runs,
      subscribers: subscribers.map((s) => s.history),
      leaders: [...observer.observations, ...(await observer.transitions())],
      faults,
    };
    const violations = checkHistory(history, { allowResets: mode === 'sentinel' });
    const events = workload.runs.reduce((n, r) => n + r.emitted.length, 0);
    const deliveries = subscribers.reduce(
      (n, s) => n + Object.keys(s.history.runs).reduce((m, r) => m + s.delivered(r), 0),
      0,
    );
    return {
      history,
      violations,
      stats: { runs: workload.runs.length, events, deliveries, faults: faults.length, drainMs },
    };
  } finally {
    observer.stop();
    for (const s of subscribers) s.close();
    await publisher?.close().catch(() => undefined);
    await closeRedis(admin).catch(() => undefined);
    await closeRedis(agentConn).catch(() => undefined);
    await cluster.stop();
  }
}
