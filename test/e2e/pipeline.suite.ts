/**
 * End-to-end: agent SDK → BullMQ → 2 bridge replicas → 2 gateways → client SDK, all real processes, on the
 * topology of `AB_TEST_TOPOLOGY` (pipeline.test.ts: standalone by default) or on a three-master Cluster
 * with three event partitions (pipeline-cluster.test.ts, the delivery cases). The access-control cases
 * live in pipeline-access.suite.ts and run on this suite's cluster.
 */
import { AgentPublisher, type RunHandle } from '@agent-bridge/agent-sdk';
import { type BridgeClient, connect } from '@agent-bridge/client';
import {
  type DeadLetterRecord,
  type EventEnvelope,
  InvalidEventError,
  JobName,
  PayloadTooLargeError,
  type KeyLayout,
  eventQueueFor,
  keyLayout,
} from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis, getRun } from '@agent-bridge/redis';
import { TcpProxy, waitFor } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { E2ECluster, Received, type TestTopology, testTopology, tokenFor } from './harness';
import { accessControlCases } from './pipeline-access.suite';

let cluster: E2ECluster;
let keys: KeyLayout;
let conn: RedisConnection;
let publisher: AgentPublisher;
/** The events queues jobs were put on by hand, by name. */
const queues = new Map<string, Queue>();
const clients: BridgeClient[] = [];
/** What beforeAll made, closed in reverse order by afterAll (also when beforeAll failed part-way). */
const teardown: (() => Promise<unknown>)[] = [];

/** The events queue (partition) of `runId`, where the bridge takes that run's jobs from. */
function eventsQueueOf(runId: string): Queue {
  const { events, eventPartitions } = cluster.config.queues;
  const ref = eventQueueFor(cluster.prefix, events, eventPartitions, runId);
  let queue = queues.get(ref.name);
  if (!queue) queues.set(ref.name, (queue = new Queue(ref.name, { connection: conn, prefix: ref.prefix })));
  return queue;
}

function client(userId: string, urls: string[]): BridgeClient {
  const c = connect(urls, { token: () => tokenFor(cluster, userId), reconnectDelayMs: 50, reconnectDelayMaxMs: 1_000 });
  clients.push(c);
  return c;
}

function gatewayUrls(first: number): string[] {
  const urls = cluster.gateways.map((g) => g.url);
  return [...urls.slice(first), ...urls.slice(0, first)];
}

async function emitAll(handle: RunHandle, count: number, ids: string[], label = 'e'): Promise<void> {
  const pending: Promise<{ id: string }>[] = [];
  for (let i = 0; i < count; i++) pending.push(handle.emit('agent_thinking', { delta: `${label}${i}` }));
  for (const r of await Promise.all(pending)) ids.push(r.id);
}

/** The cases, by key (pipeline-cluster.test.ts picks the delivery ones). */
export type PipelineCase = 'scale' | 'late' | 'cut' | 'dup' | 'bad-input' | 'dlq' | 'tokens' | 'origin' | 'flood';

/** Registers the suite on `topology` (default: `AB_TEST_TOPOLOGY`); `cases` limits it. */
export function pipelineSuite(options: { topology?: TestTopology; cases?: readonly PipelineCase[] } = {}): void {
  const topology = options.topology ?? testTopology();
  // Cases not wanted are not registered at all (not skipped: a skipped test reads as a gap).
  const test = (c: PipelineCase) => (name: string, fn: () => Promise<void>) => {
    if (!options.cases || options.cases.includes(c)) it(name, fn);
  };

  jest.setTimeout(240_000);
  beforeAll(async () => {
    cluster = await E2ECluster.start({ bridges: 2, gateways: 2, topology });
    teardown.push(() => cluster.stop());
    keys = keyLayout(cluster.prefix);
    conn = createRedis(cluster.config, 'command');
    teardown.push(() => closeRedis(conn));
    publisher = await AgentPublisher.create({ config: cluster.config });
    teardown.push(() => publisher.close());
    teardown.push(() => Promise.all([...queues.values()].map((q) => q.close())));
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    for (const close of teardown.splice(0).reverse()) await close();
  });

  describe('guarantee 1.2 at scale: per-run order, exactly once', () => {
    test('scale')(
      '500 concurrent runs × 40 events (worker concurrency 8 on 2 replicas): every subscriber gets exactly its run’s ids in seq order',
      async () => {
        const RUNS = 500;
        const EVENTS = 40;
        const USERS = 20;
        const handles: RunHandle[] = [];
        for (let i = 0; i < RUNS; i++) {
          handles.push(await publisher.startRun({ userId: `user-${i % USERS}`, agent: 'e2e', runId: `scale-${i}` }));
        }
        const received = new Received();
        const subs = [];
        for (let u = 0; u < USERS; u++) {
          const c = client(`user-${u}`, gatewayUrls(u % 2));
          for (let i = u; i < RUNS; i += USERS)
            subs.push(c.subscribe(`scale-${i}`, received.handler(`scale-${i}`)).ready);
        }
        await Promise.all(subs);
        const expected = new Map<string, string[]>(handles.map((h) => [h.runId, []]));
        // Interleave the runs: every round emits one event of each run, so jobs of a run sit among others.
        const emitted: Promise<{ id: string; seq: number }>[][] = handles.map(() => []);
        for (let round = 0; round < EVENTS; round++) {
          handles.forEach((h, i) => emitted[i]!.push(h.emit('agent_thinking', { delta: `round ${round}` })));
          if (round % 5 === 4) await Promise.all(emitted.flat());
        }
        for (const [i, list] of emitted.entries()) {
          const results = await Promise.all(list);
          expected.set(
            handles[i]!.runId,
            results.map((r) => r.id),
          );
          expect(results.map((r) => r.seq)).toEqual(Array.from({ length: EVENTS }, (_, k) => k + 1));
        }
        await waitFor(`${RUNS * EVENTS} deliveries`, () => received.total >= RUNS * EVENTS, { timeoutMs: 180_000 });
        expect(received.mismatches(expected)).toEqual([]);
        expect(received.total).toBe(RUNS * EVENTS);
        for (const h of handles) h.close();
      },
    );
  });

  describe('late and resuming subscribers', () => {
    test('late')(
      'a subscriber that arrives after 1,000 events gets all of them in order (paged replay), then live ones',
      async () => {
        const handle = await publisher.startRun({ userId: 'late-user', agent: 'e2e', runId: 'late-1' });
        const ids: string[] = [];
        await emitAll(handle, 1_000, ids);
        await waitFor('1,000 committed', async () => (await getRun(conn, keys, 'late-1'))?.headSeq === 1_000, {
          timeoutMs: 60_000,
        });
        const received = new Received();
        const c = client('late-user', gatewayUrls(1));
        const info = await c.subscribe('late-1', received.handler('late-1')).ready;
        expect(info).toMatchObject({ headSeq: 1_000, recovered: true });
        await emitAll(handle, 5, ids, 'live');
        await waitFor('1,005 deliveries', () => received.total >= 1_005, { timeoutMs: 60_000 });
        expect(received.mismatches(new Map([['late-1', ids]]))).toEqual([]);
        handle.close();
      },
    );

    test('cut')(
      'a client whose connection is cut, misses 1,000 events and comes back gets exactly the missed ones, in order',
      async () => {
        const handle = await publisher.startRun({ userId: 'cut-user', agent: 'e2e', runId: 'cut-1' });
        const proxy = await TcpProxy.start(cluster.gateways[0]!.port);
        try {
          const received = new Received();
          const resets: unknown[] = [];
          const c = client('cut-user', [`http://127.0.0.1:${proxy.port}`]);
          const states: string[] = [];
          c.onState((s) => states.push(s));
          await c.subscribe('cut-1', received.handler('cut-1'), { onReset: (i) => resets.push(i) }).ready;
          const ids: string[] = [];
          await emitAll(handle, 100, ids, 'before');
          await waitFor('first 100', () => received.total >= 100, { timeoutMs: 60_000 });
          proxy.cut();
          await waitFor('client notices the cut', () => c.state === 'reconnecting');
          await emitAll(handle, 1_000, ids, 'missed');
          await waitFor('1,100 committed', async () => (await getRun(conn, keys, 'cut-1'))?.headSeq === 1_100, {
            timeoutMs: 60_000,
          });
          expect(received.total).toBe(100);
          proxy.heal();
          await waitFor('1,100 deliveries', () => received.total >= 1_100, { timeoutMs: 60_000 });
          expect(received.mismatches(new Map([['cut-1', ids]]))).toEqual([]);
          expect(resets).toEqual([]);
          expect(states).toContain('reconnecting');
          expect(states.at(-1)).toBe('connected');
        } finally {
          handle.close();
          await proxy.close();
        }
      },
    );
  });

  describe('idempotency and bad input (guarantees 3.1, 6.1 and 6.2)', () => {
    test('dup')(
      'the same event emitted twice (same id, SDK retry or a redelivered job) is delivered and stored once',
      async () => {
        const handle = await publisher.startRun({ userId: 'dup-user', agent: 'e2e', runId: 'dup-1' });
        const received = new Received();
        const c = client('dup-user', gatewayUrls(0));
        await c.subscribe('dup-1', received.handler('dup-1')).ready;
        const first = await handle.emit('agent_thinking', { delta: 'a' }, { id: 'dup-evt-1' });
        const again = await handle.emit('agent_thinking', { delta: 'a' }, { id: 'dup-evt-1' });
        expect(again).toEqual(first);
        const second = await handle.emit('agent_thinking', { delta: 'b' }, { id: 'dup-evt-2' });
        // The queue delivers a job twice (e.g. a stalled job re-run): same envelope under another job id.
        const envelope: EventEnvelope = {
          id: 'dup-evt-2',
          runId: 'dup-1',
          seq: second.seq,
          epoch: 0,
          type: 'agent_thinking',
          ts: Date.now(),
          payload: { delta: 'b' },
        };
        await eventsQueueOf('dup-1').add(JobName.Event, envelope, { jobId: 'dup-evt-2-redelivered' });
        const third = await handle.emit('agent_thinking', { delta: 'c' }, { id: 'dup-evt-3' });
        expect([first.seq, second.seq, third.seq]).toEqual([1, 2, 3]);
        await waitFor('3 deliveries', () => received.total >= 3, { timeoutMs: 60_000 });
        await waitFor(
          'redelivered job processed',
          async () => (await eventsQueueOf('dup-1').getJobState('dup-evt-2-redelivered')) === 'completed',
          {
            timeoutMs: 60_000,
          },
        );
        // Give a duplicate every chance to show up before asserting it did not.
        const more = await handle.emit('agent_thinking', { delta: 'd' }, { id: 'dup-evt-4' });
        await waitFor('4th delivery', () => received.total >= 4, { timeoutMs: 60_000 });
        expect(received.mismatches(new Map([['dup-1', ['dup-evt-1', 'dup-evt-2', 'dup-evt-3', more.id]]]))).toEqual([]);
        expect(await conn.xlen(keys.runHistory('dup-1'))).toBe(4);
        handle.close();
      },
    );

    test('bad-input')(
      'schema-invalid and oversized events are refused at the SDK with typed errors; nothing is numbered',
      async () => {
        const handle = await publisher.startRun({ userId: 'bad-user', agent: 'e2e', runId: 'bad-1' });
        await expect(handle.emit('tool_executing', { tool: 'x' })).rejects.toBeInstanceOf(InvalidEventError);
        await expect(handle.emit('Not A Type', {})).rejects.toBeInstanceOf(InvalidEventError);
        const big = 'x'.repeat(cluster.config.events.maxPayloadBytes + 1);
        await expect(handle.emit('agent_thinking', { delta: big })).rejects.toBeInstanceOf(PayloadTooLargeError);
        const ok = await handle.emit('agent_thinking', { delta: 'fine' });
        expect(ok.seq).toBe(1);
        handle.close();
      },
    );

    test('dlq')(
      'a malformed job put on the queue by hand goes to the dead-letter queue with its reason; other runs flow on',
      async () => {
        const handle = await publisher.startRun({ userId: 'dlq-user', agent: 'e2e', runId: 'dlq-ok-1' });
        const received = new Received();
        const c = client('dlq-user', gatewayUrls(1));
        await c.subscribe('dlq-ok-1', received.handler('dlq-ok-1')).ready;
        const ids: string[] = [];
        const flowing = emitAll(handle, 50, ids);
        await eventsQueueOf('dlq-ok-1').add(JobName.Event, { hello: 'world' }, { jobId: 'malformed-1' });
        await eventsQueueOf('dlq-ok-1').add(
          JobName.Event,
          { id: 'x', runId: 'dlq-ok-1', seq: -3 },
          { jobId: 'malformed-2' },
        );
        await flowing;
        const dlq = new Queue(cluster.config.queues.deadLetter, { connection: conn, prefix: keys.bullPrefix });
        try {
          const records = await waitFor(
            'two dead letters',
            async () => {
              const all = (await dlq.getJobs(['waiting', 'completed'])).map((j) => j.data as DeadLetterRecord);
              const found = ['malformed-1', 'malformed-2'].map((id) => all.find((r) => r.jobId === id));
              return found.every((r) => r) ? (found as DeadLetterRecord[]) : null;
            },
            { timeoutMs: 60_000 },
          );
          expect(records.map((r) => [r.jobId, r.reason.code])).toEqual([
            ['malformed-1', 'INVALID_EVENT'],
            ['malformed-2', 'INVALID_EVENT'],
          ]);
          expect(records[0]!.data).toEqual({ hello: 'world' });
        } finally {
          await dlq.close();
        }
        await waitFor('50 deliveries', () => received.total >= 50, { timeoutMs: 60_000 });
        expect(received.mismatches(new Map([['dlq-ok-1', ids]]))).toEqual([]);
        for (const b of cluster.bridges) expect(b.running).toBe(true);
        handle.close();
      },
    );
  });

  accessControlCases(test, {
    get cluster() {
      return cluster;
    },
    get publisher() {
      return publisher;
    },
    client,
    gatewayUrls,
    emitAll,
  });
}
