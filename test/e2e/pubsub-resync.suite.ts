/**
 * Guarantee 1.9 (partial faults): ONE gateway's adapter subscription is lost — its subscriber link cut and
 * reset by a proxy, killed (`CLIENT KILL`), or silently blackholed — while the bridge, the other gateway
 * and the gateway's own command link run on. Events committed meanwhile, a run's final `agent_completed`
 * included, must still reach the sockets of that gateway that stay connected: the client SDK and a
 * contract-only `socket.io-client`, each exactly once and in order. The gateway's catch-up is tested with
 * the SDK's own head check off; the head check is tested on a gateway whose catch-up is off.
 *
 * Standalone: a proxy in front of the one Redis carries the faulty gateways' connections; the fault hits
 * the gateway's subscriber connection. Cluster (sharded Pub/Sub, a subscriber connection per master): every
 * process reaches master 0 through a proxy (`E2ECluster` `proxyMaster`), and the fault hits ONE gateway's
 * subscriber connection to that one master; half the runs live in master 0's slots, half elsewhere.
 * Real processes, real redis-server (pubsub-resync.test.ts, pubsub-resync-cluster.test.ts).
 */
import { AgentPublisher, type RunHandle } from '@agent-bridge/agent-sdk';
import { type BridgeClient, connect } from '@agent-bridge/client';
import type { EventEnvelope, PubSubMode } from '@agent-bridge/protocol';
import { keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { type RedisServer, TcpProxy, waitFor } from '@agent-bridge/testing';
import { Cluster } from 'ioredis';
import { E2ECluster, type TestTopology, tokenFor } from './harness';
import { RawClient } from '../protocol/raw-client';

const BEFORE = 5; // events per run delivered before the fault
const DURING = 6; // events per run committed during the fault, the last one agent_completed
/** Generous on a loaded machine; the documented bound is a few seconds (docs/guarantees.md 1.9). */
const DELIVERY_TIMEOUT_MS = 30_000;

/** The fault cases, by key. `head` (the client SDK's own bound) runs on standalone only. */
export type ResyncCase = 'cut' | 'kill' | 'stall' | 'head';

type Gw = { process: { logs: string; signal(s: NodeJS.Signals): void }; url: string };

/** The Redis client name of gateway `name`'s subscriber connection (on a Cluster: to one master). */
function subscriberName(topology: TestTopology, prefix: string, name: string): RegExp {
  const own = `gateway:${prefix}-${name}:sub`;
  return new RegExp(topology === 'cluster' ? `^ioredis-cluster\\(ssubscriber\\):${own}$` : `^${own}$`);
}

/** `CLIENT KILL ID` of the connections on `server` whose name matches; resolves with how many. */
async function killByName(server: RedisServer, name: RegExp): Promise<number> {
  const ids = (await server.cli('client', 'list'))
    .split('\n')
    .filter((line) => name.test(/ name=(\S*)/.exec(line)?.[1] ?? ''))
    .map((line) => /^id=(\d+)/.exec(line)![1]!);
  for (const id of ids) await server.cli('client', 'kill', 'id', id);
  return ids.length;
}

/** Registers the suite on `topology` for the Pub/Sub `modes`; `cases` limits it. */
export function pubsubResyncSuite(options: {
  topology: TestTopology;
  modes: readonly PubSubMode[];
  cases?: readonly ResyncCase[];
}): void {
  const { topology } = options;
  const wanted = (c: ResyncCase): boolean =>
    (options.cases ?? ['cut', 'kill', 'stall', 'head']).includes(c) && (c !== 'head' || topology === 'standalone');
  // Cases not wanted are not registered at all (not skipped: a skipped test reads as a gap).
  const test = (c: ResyncCase) => (name: string, fn: () => Promise<void>) => {
    if (wanted(c)) it(name, fn);
  };
  // Half the runs in the slots of the proxied master on a Cluster, so both kinds are checked.
  const RUNS = topology === 'cluster' ? 4 : 3;

  jest.setTimeout(180_000);

  describe.each(options.modes)(`%s Pub/Sub (${topology} Redis)`, (mode) => {
    let cluster: E2ECluster;
    let proxy: TcpProxy;
    let conn: RedisConnection;
    let publisher: AgentPublisher;
    let viaProxy: Gw;
    let noResync: Gw | null = null;
    let direct: { url: string };
    let subName: RegExp;
    const closers: (() => void)[] = [];
    /** What beforeAll made, closed in reverse order by afterAll (also when beforeAll failed part-way). */
    const teardown: (() => Promise<unknown>)[] = [];

    beforeAll(async () => {
      // Every emit is one event here (no agent_thinking coalescing), so counts and ids compare one to one.
      const env = { AB_THINKING_COALESCE_MS: '0', AB_PUBSUB_MODE: mode };
      if (topology === 'cluster') {
        cluster = await E2ECluster.start({ bridges: 1, gateways: 0, env, topology, proxyMaster: 0 });
        teardown.push(() => cluster.stop());
        proxy = cluster.masterProxy!;
        viaProxy = await cluster.startGateway('gateway-1');
        direct = await cluster.startGateway('gateway-2');
        if (wanted('head')) noResync = await cluster.startGateway('gateway-3', { AB_GATEWAY_RESYNC: 'false' });
      } else {
        cluster = await E2ECluster.start({ bridges: 1, gateways: 0, env, topology });
        teardown.push(() => cluster.stop());
        proxy = await TcpProxy.start(cluster.redis.port);
        teardown.push(() => proxy.close());
        viaProxy = await cluster.startGateway('gateway-1', { REDIS_URL: proxy.url });
        direct = await cluster.startGateway('gateway-2');
        // The fault as it was before the fix, for the client SDK's own bound.
        if (wanted('head'))
          noResync = await cluster.startGateway('gateway-3', { REDIS_URL: proxy.url, AB_GATEWAY_RESYNC: 'false' });
      }
      subName = subscriberName(topology, cluster.prefix, 'gateway-1');
      conn = createRedis(cluster.config, 'command');
      teardown.push(() => closeRedis(conn));
      publisher = await AgentPublisher.create({ config: cluster.config });
      teardown.push(() => publisher.close());
    });
    afterEach(() => {
      for (const close of closers.splice(0)) close();
      proxy.heal();
    });
    afterAll(async () => {
      for (const close of teardown.splice(0).reverse()) await close();
    });

    /** `n` run ids for `label`; on a Cluster the first half in the slots of the proxied master. */
    async function runIdsFor(label: string, n: number): Promise<string[]> {
      if (!(conn instanceof Cluster)) return Array.from({ length: n }, (_, i) => `${label}-${i}`);
      const proxied = `127.0.0.1:${proxy.port}`;
      const on: string[] = [];
      const off: string[] = [];
      for (let i = 0; on.length + off.length < n; i++) {
        const runId = `${label}-${i}`;
        const slot = await conn.cluster('KEYSLOT', `{run:${runId}}`);
        const list = conn.slots[slot]?.[0] === proxied ? on : off;
        if (list.length < n / 2) list.push(runId);
      }
      return [...on, ...off];
    }

    interface Watchers {
      sdk: BridgeClient;
      raw: RawClient;
      sdkSeen: Map<string, EventEnvelope[]>;
      controlSeen: Map<string, EventEnvelope[]>;
    }

    async function watch(gw: Gw, user: string, runIds: string[], headCheckAfterMs: number): Promise<Watchers> {
      const token = await tokenFor(cluster, user);
      // One URL each: a client must not escape the fault by moving to the other gateway.
      const sdk = connect([gw.url], { token, headCheckAfterMs });
      const control = connect([direct.url], { token });
      const raw = new RawClient(gw.url, token);
      closers.push(
        () => sdk.close(),
        () => control.close(),
        () => raw.close(),
      );
      const sdkSeen = new Map<string, EventEnvelope[]>();
      const controlSeen = new Map<string, EventEnvelope[]>();
      const ready: Promise<unknown>[] = [];
      for (const runId of runIds) {
        sdkSeen.set(runId, []);
        controlSeen.set(runId, []);
        ready.push(sdk.subscribe(runId, (e) => sdkSeen.get(runId)!.push(e)).ready);
        ready.push(control.subscribe(runId, (e) => controlSeen.get(runId)!.push(e)).ready);
        raw.subscribe(runId);
      }
      await Promise.all(ready);
      return { sdk, raw, sdkSeen, controlSeen };
    }

    function counts(w: Watchers, runIds: string[]): { sdk: number; raw: number; control: number } {
      const sum = (f: (runId: string) => number): number => runIds.reduce((n, r) => n + f(r), 0);
      return {
        sdk: sum((r) => w.sdkSeen.get(r)!.length),
        raw: sum((r) => w.raw.received(r).length),
        control: sum((r) => w.controlSeen.get(r)!.length),
      };
    }

    async function headSeq(runId: string): Promise<number> {
      return Number((await conn.hget(keyLayout(cluster.prefix).runMeta(runId), 'headSeq')) ?? 0);
    }

    interface Readyz {
      pubsubMode: string;
      subscription: { state: string; resyncs: number; lastLossReason: string | null };
    }

    async function readyz(url: string): Promise<Readyz> {
      const res = await fetch(`${url}/readyz`);
      return (await res.json()) as Readyz;
    }

    interface Fault {
      start(): Promise<void> | void;
      end(): Promise<void> | void;
    }

    /**
     * Runs RUNS runs watched on `gw` and on the direct gateway; BEFORE events each are delivered, then
     * `fault.start()`, then DURING events each (ending with agent_completed) are committed, then
     * `fault.end()`. Waits until the watchers named in `complete` have every event (throws after
     * DELIVERY_TIMEOUT_MS) and checks those got each exactly once, in order.
     */
    async function scenario(
      label: string,
      fault: Fault,
      {
        gw = viaProxy,
        headCheckAfterMs = 0,
        complete = ['sdk', 'raw', 'control'],
      }: { gw?: Gw; headCheckAfterMs?: number; complete?: ('sdk' | 'raw' | 'control')[] } = {},
    ): Promise<Watchers & { runIds: string[] }> {
      const before = await readyz(gw.url);
      expect(before.pubsubMode).toBe(mode);
      const runIds = await runIdsFor(label, RUNS);
      const handles: RunHandle[] = [];
      for (const runId of runIds) handles.push(await publisher.startRun({ userId: `u-${label}`, agent: 'e2e', runId }));
      const w = await watch(gw, `u-${label}`, runIds, headCheckAfterMs);
      const emitted = new Map<string, string[]>(runIds.map((r) => [r, []]));
      const emit = async (h: RunHandle, p: Promise<{ id: string }>): Promise<void> => {
        emitted.get(h.runId)!.push((await p).id);
      };
      for (const h of handles) {
        await emit(h, h.started());
        for (let i = 1; i < BEFORE; i++) await emit(h, h.thinking(`before ${i}`));
      }
      const all = RUNS * BEFORE;
      await waitFor('events before the fault everywhere', () => {
        const c = counts(w, runIds);
        return c.sdk === all && c.raw === all && c.control === all;
      });

      await fault.start();
      for (const h of handles) {
        for (let i = 1; i < DURING; i++) await emit(h, h.thinking(`during ${i}`));
        await emit(h, h.complete({ answer: label }));
      }
      // Committed (and published) while the gateway's subscription is down.
      await waitFor('events committed', async () => {
        for (const r of runIds) if ((await headSeq(r)) !== BEFORE + DURING) return false;
        return true;
      });
      await fault.end();

      const total = RUNS * (BEFORE + DURING);
      try {
        await waitFor('every event on every watcher', () => complete.every((k) => counts(w, runIds)[k] === total), {
          timeoutMs: DELIVERY_TIMEOUT_MS,
          intervalMs: 100,
        });
      } catch (err) {
        throw new Error(`${(err as Error).message}; received ${JSON.stringify(counts(w, runIds))} of ${total} each`);
      }
      for (const runId of runIds) {
        const want = emitted.get(runId)!;
        const seqs = want.map((_, i) => i + 1);
        const got = { sdk: w.sdkSeen.get(runId)!, raw: w.raw.received(runId), control: w.controlSeen.get(runId)! };
        for (const k of complete) {
          expect(got[k].map((e) => e.id)).toEqual(want);
          expect(got[k].map((e) => e.seq)).toEqual(seqs);
          expect(got[k].at(-1)!.type).toBe('agent_completed');
        }
      }
      // Nobody escaped the fault by reconnecting.
      expect(w.sdk.stats().connects).toBe(1);
      expect(w.raw.connects).toBe(1);
      const after = await readyz(gw.url);
      expect(after.subscription.resyncs).toBeGreaterThan(before.subscription.resyncs);
      for (const h of handles) h.close();
      return { ...w, runIds };
    }

    describe('guarantee 1.9: one gateway loses its adapter subscription; its sockets still get every event', () => {
      test('cut')(
        'subscriber link reset and cut by a proxy (then healed), events incl. agent_completed committed meanwhile',
        async () => {
          await scenario('cut', {
            start: async () => {
              proxy.reset(subName); // an RST: the subscriber link breaks
              proxy.cut(subName); // and cannot come back until healed
              const refused = proxy.refusals;
              // A reconnect attempt was reset (ECONNRESET: an `error` event on the adapter's subscriber).
              await waitFor('a refused reconnect', () => proxy.refusals > refused);
            },
            end: () => proxy.heal(),
          });
          // Issue 9 item 7: the adapter's Redis clients have an `error` listener (no warning, no unhandled error).
          expect(viaProxy.process.logs).not.toContain("missing 'error' handler");
          expect(viaProxy.process.logs).not.toContain('Unhandled error event');
          expect(viaProxy.process.logs).toContain('redis connection error');
          expect((await readyz(viaProxy.url)).subscription.lastLossReason).toBe('closed');
        },
      );

      test('kill')(
        'subscriber link killed (CLIENT KILL) while the gateway is paused, events incl. agent_completed committed before it resumes',
        async () => {
          await scenario('kill', {
            start: async () => {
              // Paused, the gateway cannot resubscribe before the events below are committed (without the pause
              // the race against its reconnect would make the test flaky); its client sockets stay connected.
              viaProxy.process.signal('SIGSTOP');
              if (topology === 'cluster') {
                // Only this gateway's subscriber connection to master 0.
                expect(await killByName(cluster.masters[0]!, subName)).toBe(1);
              } else {
                // Sharded: the gateways' SSUBSCRIBE connections (CLIENT KILL TYPE pubsub takes them too).
                const killed = Number(await cluster.redis.cli('client', 'kill', 'type', 'pubsub'));
                expect(killed).toBeGreaterThanOrEqual(2); // both gateways' subscribers (and any other)
              }
            },
            end: () => viaProxy.process.signal('SIGCONT'),
          });
        },
      );

      test('stall')(
        'subscriber link silently blackholed (half-open, never healed): the gateway detects the stall and catches up',
        async () => {
          await scenario('stall', {
            start: () => proxy.blackhole(subName),
            end: () => undefined,
          });
          expect((await readyz(viaProxy.url)).subscription.lastLossReason).toBe('stalled');
          expect(viaProxy.process.logs).toContain('adapter subscriber link stalled');
        },
      );

      test('head')(
        'the client SDK alone bounds the hole: with the gateway catch-up off, a silent unfinished run is re-read after headCheckAfterMs',
        async () => {
          const headCheckAfterMs = 2_000;
          const name = subscriberName(topology, cluster.prefix, 'gateway-3');
          const w = await scenario(
            'head',
            {
              start: () => {
                proxy.reset(name);
                proxy.cut(name);
              },
              end: () => proxy.heal(),
            },
            { gw: noResync!, headCheckAfterMs, complete: ['sdk', 'control'] },
          );
          expect(w.sdk.stats().headChecks).toBeGreaterThan(0);
          // The contract-only client on that gateway shows the fault the SDK covered: the runs' ends never came.
          const raw = w.runIds.reduce((n, r) => n + w.raw.received(r).length, 0);
          expect(raw).toBe(RUNS * BEFORE);
        },
      );
    });
  });
}
