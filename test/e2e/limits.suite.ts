/**
 * Limits per user over the whole cluster (guarantee 5.6), with real processes: a bridge replica, two
 * gateways, the demo agent; raw socket.io-client floods and the client SDK. On the topology of
 * `AB_TEST_TOPOLOGY` (limits.test.ts) and on a three-master Cluster (limits-cluster.test.ts).
 */
import { join } from 'node:path';
import { type BridgeClient, connect } from '@agent-bridge/client';
import { ServiceProcess, waitFor } from '@agent-bridge/testing';
import { E2ECluster, ROOT, type TestTopology, testTopology, tokenFor } from './harness';
import { type TimedRun, floodStartRuns, openFloodConnections, timedRun } from './flood';

const USER_CONNECTIONS = 20;
const USER_RUNS = 10;
let cluster: E2ECluster;
let agent: ServiceProcess;
const clients: BridgeClient[] = [];
/** What beforeAll made, closed in reverse order by afterAll (also when beforeAll failed part-way). */
const teardown: (() => Promise<unknown>)[] = [];

const urls = (): string[] => cluster.gateways.filter((g) => g.process.running).map((g) => g.url);

/** Registers the suite on `topology` (default: `AB_TEST_TOPOLOGY`). */
export function limitsSuite(topology: TestTopology = testTopology()): void {
  jest.setTimeout(240_000);
  beforeAll(async () => {
    cluster = await E2ECluster.start({
      topology,
      bridges: 1,
      gateways: 2,
      env: {
        AB_LIMIT_USER_CONNECTIONS: String(USER_CONNECTIONS),
        AB_LIMIT_USER_RUNS: String(USER_RUNS),
        AB_DEMO_AGENT_PACE_MS: '0',
        AB_DEMO_AGENT_CONCURRENCY: '8',
      },
    });
    teardown.push(() => cluster.stop());
    agent = ServiceProcess.start({
      entry: join(ROOT, 'services/demo-agent/src/main.ts'),
      name: 'demo-agent',
      env: { ...cluster.env, AB_INSTANCE_ID: `${cluster.prefix}-agent` },
    });
    teardown.push(() => agent.kill());
    await agent.waitForOutput(/demo-agent ready/, 60_000);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    for (const close of teardown.splice(0).reverse()) await close();
  });

  describe('limits per user over the cluster (guarantee 5.6)', () => {
    it('one user floods (50 sockets over both gateways, 3,000 start_run): it gets 20 connections and at most 10 runs; another user’s runs start and stream to the end', async () => {
      const flood = await openFloodConnections(urls(), await tokenFor(cluster, 'flooder'), 50);
      try {
        expect(flood.sockets).toHaveLength(USER_CONNECTIONS);
        expect(flood.refused).toEqual(Array.from({ length: 50 - USER_CONNECTIONS }, () => 'TOO_MANY_CONNECTIONS'));

        const calm = connect(urls(), { token: () => tokenFor(cluster, 'calm') });
        clients.push(calm);
        const flooding = floodStartRuns(flood.sockets, 150);
        const calmRuns: TimedRun[] = [];
        for (let i = 0; i < 5; i++) calmRuns.push(await timedRun(calm, `what is ${i} + 1?`));
        const counts = await flooding;

        const total = [...counts.values()].reduce((a, b) => a + b, 0);
        expect(total).toBe(3_000);
        // At most the start_run rate (30 per minute) gets through, never more than 10 unfinished at once.
        expect(counts.get('ok') ?? 0).toBeGreaterThan(0);
        expect(counts.get('ok') ?? 0).toBeLessThanOrEqual(cluster.config.limits.userStartRuns);
        expect((counts.get('RATE_LIMITED') ?? 0) + (counts.get('TOO_MANY_RUNS') ?? 0) + (counts.get('ok') ?? 0)).toBe(
          3_000,
        );
        for (const run of calmRuns) {
          expect(run.events.at(-1)?.type).toBe('agent_completed');
          expect(run.events.map((e) => e.seq)).toEqual(run.events.map((_, i) => i + 1));
        }
      } finally {
        flood.close();
      }
    });

    it('a gateway that crashes (SIGKILL) gives its connections back within the heartbeat TTL: the user may connect again up to its limit', async () => {
      const token = await tokenFor(cluster, 'crasher');
      const flood = await openFloodConnections(urls(), token, USER_CONNECTIONS);
      try {
        expect(flood.refused).toEqual([]);
        const extra = await openFloodConnections(urls(), token, 1);
        expect(extra.refused).toEqual(['TOO_MANY_CONNECTIONS']);
        extra.close();
        // Half of the connections were on gateway-2; it dies without a word.
        await cluster.gateways[1]!.process.kill();
        const onFirst = [cluster.gateways[0]!.url];
        // Its counts stop counting once its hash expires (AB_HEARTBEAT_TTL_MS = 3 s in the e2e cluster).
        const more = await waitFor(
          'the dead gateway’s slots free',
          async () => {
            const again = await openFloodConnections(onFirst, token, 1);
            if (again.refused.length === 0) return again;
            again.close();
            return null;
          },
          { timeoutMs: 30_000, intervalMs: 250 },
        );
        const rest = await openFloodConnections(onFirst, token, USER_CONNECTIONS / 2);
        expect(rest.refused).toEqual(['TOO_MANY_CONNECTIONS']);
        more.close();
        rest.close();
      } finally {
        flood.close();
      }
    });
  });
}
