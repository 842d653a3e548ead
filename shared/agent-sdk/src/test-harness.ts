/**
 * Test helpers of the publisher tests (not exported from the package): one redis-server per test file and a
 * publisher on a unique key prefix and events queue, with a view of what that queue holds read straight
 * from Redis.
 */
import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type EventEnvelope, keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { type RedisServer, destroyAllRedis, startRedis } from '@agent-bridge/testing';
import { type Job, Queue } from 'bullmq';
import { AgentPublisher } from './index';

export interface PublisherCtx {
  config: AppConfig;
  publisher: AgentPublisher;
  queue: Queue;
  /** Every job on the events queue, by the seq of its (first) event. */
  jobs: () => Promise<Job[]>;
  /** Every event on the queue (from `event` and `events` batch jobs), by run and seq. */
  events: () => Promise<EventEnvelope[]>;
  close: () => Promise<void>;
}

export interface PublisherHarness {
  /** This file's redis-server (set in beforeAll). */
  readonly server: RedisServer;
  /** A publisher connected to `url` (this file's Redis unless given; e.g. a proxy in front of it). */
  setup(env?: Record<string, string>, url?: string): Promise<PublisherCtx>;
}

/** Registers the Jest hooks of a publisher test file and returns its helpers. */
export function usePublisherHarness(): PublisherHarness {
  let redis: RedisServer | undefined;
  afterAll(destroyAllRedis);
  beforeAll(async () => {
    redis = await startRedis();
  });
  const server = (): RedisServer => {
    if (!redis) throw new Error('the publisher harness is used before its beforeAll ran');
    return redis;
  };

  async function setup(env: Record<string, string> = {}, url = server().url): Promise<PublisherCtx> {
    const id = randomUUID();
    const config = loadConfig({
      env: {
        REDIS_URL: url,
        AB_KEY_PREFIX: `t-${id}`,
        AB_EVENTS_QUEUE: `ev-${id}`,
        LOG_LEVEL: 'silent',
        // These tests count events per emit; coalescing of thinking deltas has its own suite (coalescing.test.ts).
        AB_THINKING_COALESCE_MS: '0',
        ...env,
      },
    });
    const publisher = await AgentPublisher.create({ config });
    // Inspection goes straight to Redis, not through a proxy under test.
    const inspect = createRedis(loadConfig({ env: { REDIS_URL: server().url } }), 'command');
    const queue = new Queue(config.queues.events, {
      connection: inspect,
      prefix: keyLayout(config.keyPrefix).bullPrefix,
    });
    const jobs = async () => {
      const all = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed']);
      return all.sort((a, b) => (a.data as EventEnvelope).seq - (b.data as EventEnvelope).seq);
    };
    const events = async (): Promise<EventEnvelope[]> =>
      (await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed']))
        .flatMap((j) =>
          j.name === 'events' ? (j.data as { events: EventEnvelope[] }).events : [j.data as EventEnvelope],
        )
        .sort((a, b) => a.runId.localeCompare(b.runId) || a.seq - b.seq);
    return {
      config,
      publisher,
      queue,
      jobs,
      events,
      close: async () => {
        await publisher.close();
        await queue.close();
        await closeRedis(inspect);
      },
    };
  }

  return {
    get server() {
      return server();
    },
    setup,
  };
}
