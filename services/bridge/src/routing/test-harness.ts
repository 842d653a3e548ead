/**
 * Test helpers of the routing tests (not exported from the package): a router over a real Redis with a
 * unique key prefix and queue names, a queue to put jobs on by hand, and a listener that decodes what the
 * router publishes on the Socket.IO adapter channel.
 */
import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type EventEnvelope, type KeyLayout, keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { silentLogger } from '@agent-bridge/telemetry';
import { Queue } from 'bullmq';
import { decode } from 'notepack.io';
import { EventRouter } from './event-router';

export interface HarnessEnv {
  /** Extra config (env names) over the unique prefix/queues. */
  env?: Record<string, string>;
  /** REDIS_URL, or cluster seeds. */
  redisEnv: Record<string, string>;
}

export class Harness {
  readonly config: AppConfig;
  readonly keys: KeyLayout;
  readonly conn: RedisConnection;
  readonly workerConn: RedisConnection;
  readonly sub: RedisConnection;
  readonly queue: Queue;
  readonly dlq: Queue;
  readonly routers: EventRouter[] = [];
  /** Published envelopes per run, in arrival order. */
  readonly published = new Map<string, EventEnvelope[]>();

  private constructor(opts: HarnessEnv) {
    const id = randomUUID();
    this.config = loadConfig({
      env: {
        AB_KEY_PREFIX: `t-${id}`,
        AB_EVENTS_QUEUE: `ev-${id}`,
        AB_DEAD_LETTER_QUEUE: `dlq-${id}`,
        AB_WORKER_CONCURRENCY: '8',
        LOG_LEVEL: 'silent',
        ...opts.redisEnv,
        ...opts.env,
      },
    });
    this.keys = keyLayout(this.config.keyPrefix);
    this.conn = createRedis(this.config, 'command', { name: 'test-command' });
    this.workerConn = createRedis(this.config, 'worker', { name: 'test-worker' });
    this.sub = createRedis(this.config, 'subscriber', { name: 'test-sub' });
    this.queue = new Queue(this.config.queues.events, { connection: this.conn, prefix: this.keys.bullPrefix });
    this.dlq = new Queue(this.config.queues.deadLetter, { connection: this.conn, prefix: this.keys.bullPrefix });
  }

  static async create(opts: HarnessEnv): Promise<Harness> {
    const h = new Harness(opts);
    h.sub.on('pmessageBuffer', (_pattern: string, _channel: Buffer, message: Buffer) => {
      const [, packet] = decode(message) as [string, { data: [string, EventEnvelope] }];
      const [name, event] = packet.data;
      if (name !== 'agent_event') return;
      const list = h.published.get(event.runId) ?? [];
      list.push(event);
      h.published.set(event.runId, list);
    });
    await h.sub.psubscribe(`${h.keys.socketIoKey}#/#*`);
    return h;
  }

  /** Starts a router (a replica's routing) on the harness connections. */
  async startRouter(): Promise<EventRouter> {
    const router = new EventRouter({
      config: this.config,
      connection: this.conn,
      workerConnection: this.workerConn,
      logger: silentLogger(),
    });
    this.routers.push(router);
    await router.start();
    return router;
  }

  /** Published seqs of a run, sorted, without duplicates. */
  publishedSeqs(runId: string): number[] {
    return [...new Set((this.published.get(runId) ?? []).map((e) => e.seq))].sort((a, b) => a - b);
  }

  async headSeq(runId: string): Promise<number> {
    return Number((await this.conn.hget(this.keys.runMeta(runId), 'headSeq')) ?? 0);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.routers.map((r) => r.close()));
    await Promise.allSettled([this.queue.close(), this.dlq.close()]);
    await Promise.allSettled([closeRedis(this.conn), closeRedis(this.workerConn), closeRedis(this.sub)]);
  }
}

/** A valid envelope as an agent would enqueue it (epoch 0). */
export function makeEvent(runId: string, seq: number, type = 'agent_thinking', payload?: unknown): EventEnvelope {
  return {
    id: `e-${runId}-${seq}`,
    runId,
    seq,
    epoch: 0,
    type,
    ts: 1_700_000_000_000 + seq,
    payload: payload ?? { delta: `token ${seq}` },
  };
}

/** Job options the agent SDK uses: job id = event id. */
export function jobOf(event: EventEnvelope): { name: string; data: EventEnvelope; opts: { jobId: string } } {
  return { name: 'event', data: event, opts: { jobId: event.id } };
}

/** Fisher–Yates with a fixed seed, so a failing order can be reproduced. */
export function shuffle<T>(items: T[], seed = 42): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export { closeRedis };
