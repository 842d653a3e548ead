// Partitioned event queues (issue 12, decision 0006): every replica consumes every partition, and the
// count-change procedure of docs/operations.md keeps a run's order while its events sit in two queues.
import { type EventEnvelope, consumedEventQueues, eventPartition, eventQueues } from '@agent-bridge/protocol';
import { readHistory } from '@agent-bridge/redis';
import { RedisCluster, destroyAllRedis, sleep, waitFor } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { Harness, jobOf, makeEvent, shuffle } from './test-harness';

afterAll(destroyAllRedis);

let cluster: RedisCluster;
let h: Harness | null = null;
const queues: Queue[] = [];
beforeAll(async () => {
  cluster = await RedisCluster.start(3);
});
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()));
  await h?.close();
  h = null;
});
afterAll(async () => {
  await cluster.destroy();
});

const clusterEnv = () => ({ REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.seeds.join(',') });

function queueOf(harness: Harness, ref: { name: string; prefix: string }): Queue {
  const q = new Queue(ref.name, { connection: harness.conn, prefix: ref.prefix });
  queues.push(q);
  return q;
}

async function seqsOf(harness: Harness, runId: string): Promise<number[]> {
  return (await readHistory(harness.conn, harness.keys, runId, 0, 10_000)).events.map((e: EventEnvelope) => e.seq);
}

describe('partitioned event queues on a three-master Cluster', () => {
  it('guarantee 1.1: two replicas consume all three partitions; each run committed once, in seq order', async () => {
    h = await Harness.create({ redisEnv: clusterEnv(), env: { AB_EVENT_PARTITIONS: '3' } });
    const harness = h;
    const refs = eventQueues(harness.config.keyPrefix, harness.config.queues.events, 3);
    const runs = Array.from({ length: 15 }, (_, i) => `prun-${i}`);
    await harness.register(...runs);
    const events = runs.flatMap((runId) => Array.from({ length: 20 }, (_, s) => makeEvent(runId, s + 1)));
    // Each run's events on its own partition, shuffled.
    await Promise.all(
      refs.map((ref) =>
        queueOf(harness, ref).addBulk(
          shuffle(events.filter((e) => eventPartition(e.runId, 3) === ref.partition)).map(jobOf),
        ),
      ),
    );
    const [a, b] = [await harness.startRouter(), await harness.startRouter()];
    expect(a.getStatus().queues).toEqual(refs.map((r) => r.name));
    await waitFor('every run committed', async () =>
      (await Promise.all(runs.map((r) => harness.headSeq(r)))).every((x) => x === 20),
    );
    for (const runId of runs) expect(await seqsOf(harness, runId)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const processed = a.getStatus().processed + b.getStatus().processed;
    expect(processed).toBeGreaterThanOrEqual(events.length);
    for (const ref of refs) expect(await queueOf(harness, ref).getWaitingCount()).toBe(0);
  });

  /** Puts a run's odd seqs on the one-partition queue and its even seqs (first) on its three-partition queue. */
  async function splitRun(harness: Harness, runId: string): Promise<{ old: Queue }> {
    const { keyPrefix, queues: q } = harness.config;
    const old = queueOf(harness, eventQueues(keyPrefix, q.events, 1)[0]!);
    const fresh = queueOf(harness, eventQueues(keyPrefix, q.events, 3)[eventPartition(runId, 3)]!);
    await harness.register(runId);
    const events = Array.from({ length: 30 }, (_, s) => makeEvent(runId, s + 1));
    // Producers mid-roll: agents already on three partitions overtake those still on one.
    await fresh.addBulk(events.filter((e) => e.seq % 2 === 0).map(jobOf));
    await old.addBulk(events.filter((e) => e.seq % 2 === 1).map(jobOf));
    return { old };
  }

  it('changing the count 1 → 3 (docs/operations.md): with AB_EVENT_PARTITIONS_PREVIOUS=1 a run split over the old and new queues commits in order', async () => {
    h = await Harness.create({
      redisEnv: clusterEnv(),
      env: { AB_EVENT_PARTITIONS: '3', AB_EVENT_PARTITIONS_PREVIOUS: '1' },
    });
    const harness = h;
    await splitRun(harness, 'moving-run');
    const router = await harness.startRouter();
    const { keyPrefix, queues: q } = harness.config;
    expect(router.getStatus().queues).toEqual(consumedEventQueues(keyPrefix, q.events, 3, 1).map((r) => r.name));
    await waitFor('the run committed', async () => (await harness.headSeq('moving-run')) === 30);
    expect(await seqsOf(harness, 'moving-run')).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('changing the count without AB_EVENT_PARTITIONS_PREVIOUS strands the old queue: the run stops before its first old seq', async () => {
    h = await Harness.create({ redisEnv: clusterEnv(), env: { AB_EVENT_PARTITIONS: '3' } });
    const harness = h;
    const { old } = await splitRun(harness, 'stranded-run');
    await harness.startRouter();
    // The even seqs are consumed (and buffered: seq 1 is missing); the odd ones wait on a queue nobody reads.
    await waitFor(
      'the new queue drained',
      async () => (await harness.conn.hlen(harness.keys.runPending('stranded-run'))) === 15,
    );
    await sleep(500);
    expect(await harness.headSeq('stranded-run')).toBe(0);
    expect(await old.getWaitingCount()).toBe(15);
  });
});
