import { randomUUID } from 'node:crypto';
import { loadConfig } from '@agent-bridge/config';
import { ConfigError, type EventEnvelope, keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis, getRun } from '@agent-bridge/redis';
import { type RedisServer, destroyAllRedis, startRedis } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { AgentPublisher } from './index';

afterAll(destroyAllRedis);

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});

describe('AgentPublisher.create with a plain Redis URL', () => {
  it('publishes with { redis, keyPrefix } alone: the run is registered and its events are on the default queue', async () => {
    const prefix = `plain-${randomUUID().slice(0, 8)}`;
    const publisher = await AgentPublisher.create({ redis: server.url, keyPrefix: prefix });
    const inspect = createRedis(loadConfig({ env: { REDIS_URL: server.url } }), 'command');
    const defaults = loadConfig({ env: {} });
    const queue = new Queue(defaults.queues.events, { connection: inspect, prefix: keyLayout(prefix).bullPrefix });
    try {
      const run = await publisher.startRun({ userId: 'u-plain', agent: 'plain' });
      await run.started({ prompt: 'hi' });
      await run.complete({ answer: 1 });
      await publisher.close();
      const jobs = await queue.getJobs(['waiting']);
      const events = jobs
        .flatMap((j) =>
          j.name === 'events' ? (j.data as { events: EventEnvelope[] }).events : [j.data as EventEnvelope],
        )
        .sort((a, b) => a.seq - b.seq);
      expect(events.map((e) => [e.seq, e.type])).toEqual([
        [1, 'agent_started'],
        [2, 'agent_completed'],
      ]);
      expect((await getRun(inspect, keyLayout(prefix), run.runId))?.owner).toBe('u-plain');
    } finally {
      await publisher.close();
      await queue.close();
      await closeRedis(inspect);
    }
  });

  it('refuses options without a connection, with both forms, or with a URL that is not redis:// (ConfigError)', async () => {
    await expect(AgentPublisher.create({})).rejects.toThrow(ConfigError);
    await expect(AgentPublisher.create({ redis: '  ' })).rejects.toThrow(/needs \{ redis/);
    const config = loadConfig({ env: { REDIS_URL: server.url } });
    await expect(AgentPublisher.create({ config, redis: server.url })).rejects.toThrow(/not both/);
    const bad = AgentPublisher.create({ redis: 'http://127.0.0.1:1' });
    await expect(bad).rejects.toThrow(ConfigError);
    await expect(bad).rejects.toMatchObject({ problems: [{ key: 'REDIS_URL' }] });
  });
});
