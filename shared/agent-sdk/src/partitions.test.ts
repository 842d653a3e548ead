import { randomUUID } from 'node:crypto';
import { loadConfig } from '@agent-bridge/config';
import { BackpressureError, type EventEnvelope, eventPartition, eventQueues } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { RedisCluster, destroyAllRedis } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { AgentPublisher } from './index';

afterAll(destroyAllRedis);

let cluster: RedisCluster | undefined;
beforeAll(async () => {
  cluster = await RedisCluster.start(3);
});
afterAll(async () => {
  await cluster?.destroy();
});

describe('AgentPublisher with AB_EVENT_PARTITIONS=3 on a three-master Cluster', () => {
  it("puts each run's events on its partition's queue, one queue per master, and counts backpressure over all", async () => {
    const id = randomUUID().slice(0, 8);
    const env = {
      REDIS_MODE: 'cluster',
      REDIS_CLUSTER_NODES: cluster!.seeds.join(','),
      AB_KEY_PREFIX: `t-${id}`,
      AB_EVENT_PARTITIONS: '3',
      AB_THINKING_COALESCE_MS: '0',
      LOG_LEVEL: 'silent',
    };
    const config = loadConfig({ env });
    const publisher = await AgentPublisher.create({ config });
    const inspect = createRedis(config, 'command');
    const refs = eventQueues(config.keyPrefix, config.queues.events, 3);
    const queues = refs.map((r) => new Queue(r.name, { connection: inspect, prefix: r.prefix }));
    try {
      const runs = Array.from({ length: 12 }, (_, i) => `prun-${i}`);
      const handles = await Promise.all(runs.map((runId) => publisher.startRun({ userId: 'u1', agent: 'a', runId })));
      // Emitted in one tick: one flush with every run's events, which the publisher splits by partition.
      await Promise.all(handles.flatMap((h) => [1, 2, 3].map((n) => h.emit('agent_thinking', { delta: `${n}` }))));
      const perQueue = await Promise.all(
        queues.map(async (q) =>
          (await q.getJobs(['waiting'])).flatMap((j) =>
            j.name === 'events' ? (j.data as { events: EventEnvelope[] }).events : [j.data as EventEnvelope],
          ),
        ),
      );
      for (const [p, events] of perQueue.entries()) {
        // Only runs of this partition, every one of them with all three events.
        const mine = runs.filter((r) => eventPartition(r, 3) === p);
        expect(mine.length).toBeGreaterThan(0);
        expect([...new Set(events.map((e) => e.runId))].sort()).toEqual(mine.sort());
        expect(events).toHaveLength(mine.length * 3);
      }
      // Each partition queue lives on its own master: the master holding its wait list's slot has keys there.
      const owners = await Promise.all(
        refs.map(async (r) => {
          const slot = Number(await cluster!.nodes[0]!.cli('cluster', 'keyslot', `${r.prefix}:${r.name}:wait`));
          const counts = await Promise.all(
            cluster!.nodes.map((n) => n.cli('cluster', 'countkeysinslot', String(slot))),
          );
          return counts.findIndex((c) => Number(c) > 0);
        }),
      );
      expect(new Set(owners).size).toBe(3);
      expect(owners).not.toContain(-1);
      await publisher.close();

      // The depth bound counts the events waiting on every partition (36 here).
      const bounded = await AgentPublisher.create({
        config: loadConfig({ env: { ...env, AB_MAX_QUEUE_DEPTH: '36' } }),
      });
      try {
        const h = await bounded.startRun({ userId: 'u1', agent: 'a', runId: 'prun-0' });
        expect(bounded.getStatus().queueDepth).toBe(36);
        await expect(h.emit('agent_thinking', { delta: 'x' })).rejects.toBeInstanceOf(BackpressureError);
      } finally {
        await bounded.close();
      }
    } finally {
      await publisher.close();
      await Promise.all(queues.map((q) => q.close()));
      await closeRedis(inspect);
    }
  });
});
