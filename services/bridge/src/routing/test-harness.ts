/**
 * Test helpers of the routing tests (not exported from the package): a router over a real Redis with a
 * unique key prefix and queue names, a queue to put jobs on by hand, and a listener that decodes what the
 * router publishes on the Socket.IO adapter channel.
 */
import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type EventEnvelope, type KeyLayout, type PubSubMode, keyLayout, runRoom } from '@agent-bridge/protocol';
import {
  type RedisConnection,
  type RunCommitResult,
  type RunStore,
  closeRedis,
  createRedis,
  registerRun,
} from '@agent-bridge/redis';
import { silentLogger } from '@agent-bridge/telemetry';
import { type RedisServer, startRedis } from '@agent-bridge/testing';
import { type JobsOptions, Queue, type QueueOptions } from 'bullmq';
import { bridgeRunStore } from './bridge-run-store';
import { decode } from 'notepack.io';
import { EventRouter } from './event-router';
import { RoomPublisher } from './room-publisher';

export interface HarnessEnv {
  /** Extra config (env names) over the unique prefix/queues. */
  env?: Record<string, string>;
  /** REDIS_URL, or cluster seeds. */
  redisEnv: Record<string, string>;
}

/** Run ids of a job's data (an envelope, or `{ events: [...] }`). */
function runIdsOf(data: unknown): string[] {
  const d = data as { runId?: unknown; events?: unknown } | null;
  const list = Array.isArray(d?.events) ? (d.events as unknown[]) : [d];
  return list
    .map((e) => (e as { runId?: unknown } | null)?.runId)
    .filter((r): r is string => typeof r === 'string' && r.length > 0);
}

/**
 * The events queue as an agent uses it: every run is registered (owner `alice`) before its events are
 * added, as the agent SDK does (docs/protocol.md); the bridge dead-letters events of unregistered runs.
 */
class RegisteringQueue extends Queue {
  constructor(
    name: string,
    opts: QueueOptions,
    private readonly registerRuns: (data: unknown) => Promise<void>,
  ) {
    super(name, opts);
  }

  override async add(name: string, data: unknown, opts?: JobsOptions) {
    await this.registerRuns(data);
    return super.add(name, data, opts);
  }

  override async addBulk(jobs: { name: string; data: unknown; opts?: JobsOptions }[]) {
    await Promise.all(jobs.map((j) => this.registerRuns(j.data)));
    return super.addBulk(jobs);
  }
}

/**
 * Decodes what the bridge publishes to the run rooms, in either Pub/Sub mode: classic (one PSUBSCRIBE, the
 * emitter's MessagePack) or sharded (an SSUBSCRIBE per run — sharded Pub/Sub has no patterns — and the
 * sharded adapter's JSON). `sub` is the caller's (a Cluster client needs `shardedSubscribers`).
 */
export class RoomObserver {
  private constructor(
    private readonly sub: RedisConnection,
    private readonly keys: KeyLayout,
    readonly mode: PubSubMode,
  ) {}

  static async create(
    sub: RedisConnection,
    keys: KeyLayout,
    mode: PubSubMode,
    onEvent: (event: EventEnvelope) => void,
  ): Promise<RoomObserver> {
    if (mode === 'sharded') {
      sub.on('smessageBuffer', (_channel: Buffer, message: Buffer) => {
        const msg = JSON.parse(message.toString()) as { data: { packet: { data: [string, EventEnvelope] } } };
        const [name, event] = msg.data.packet.data;
        if (name === 'agent_event') onEvent(event);
      });
    } else {
      sub.on('pmessageBuffer', (_pattern: string, _channel: Buffer, message: Buffer) => {
        const [, packet] = decode(message) as [string, { data: [string, EventEnvelope] }];
        const [name, event] = packet.data;
        if (name === 'agent_event') onEvent(event);
      });
      await sub.psubscribe(`${keys.socketIoKey}#/#*`);
    }
    return new RoomObserver(sub, keys, mode);
  }

  /** Listens to the runs' rooms (sharded; classic listens to every room already). */
  async listen(...runIds: string[]): Promise<void> {
    if (this.mode !== 'sharded') return;
    for (const runId of runIds) await this.sub.ssubscribe(`${this.keys.socketIoKey}#/#${runRoom(runId, 'sharded')}#`);
  }
}

export class Harness {
  readonly config: AppConfig;
  readonly keys: KeyLayout;
  readonly conn: RedisConnection;
  readonly workerConn: RedisConnection;
  readonly sub: RedisConnection;
  /** The events queue; registers the runs of the jobs it adds first (see {@link RegisteringQueue}). */
  readonly queue: Queue;
  /** The events queue without registration (for jobs of unregistered runs). */
  readonly rawQueue: Queue;
  readonly dlq: Queue;
  /** The RunStore a replica commits through. */
  readonly store: RunStore;
  /** Its publisher (the installation's Pub/Sub mode, resolved in {@link create}). */
  readonly publisher: RoomPublisher;
  private readonly registered = new Set<string>();
  readonly routers: EventRouter[] = [];
  /** Published envelopes per run, in arrival order. */
  readonly published = new Map<string, EventEnvelope[]>();
  private rooms: RoomObserver | null = null;

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
    this.sub = createRedis(this.config, 'subscriber', { name: 'test-sub', shardedSubscribers: true });
    const queueOpts = { connection: this.conn, prefix: this.keys.bullPrefix };
    this.queue = new RegisteringQueue(this.config.queues.events, queueOpts, (data) => this.register(...runIdsOf(data)));
    this.rawQueue = new Queue(this.config.queues.events, queueOpts);
    this.publisher = new RoomPublisher(this.conn, this.keys);
    this.store = bridgeRunStore(this.config, this.conn, this.keys, this.publisher);
    this.dlq = new Queue(this.config.queues.deadLetter, { connection: this.conn, prefix: this.keys.bullPrefix });
  }

  /** Harnesses created and not closed yet (see {@link closeAll}). */
  private static readonly open = new Set<Harness>();

  /** Closes every harness still open: a test's `afterEach`, also after a test that failed half-way. */
  static readonly closeAll = async (): Promise<void> => {
    await Promise.all([...Harness.open].map((h) => h.close()));
  };

  static async create(opts: HarnessEnv): Promise<Harness> {
    const h = new Harness(opts);
    Harness.open.add(h);
    const mode = await h.publisher.start(h.config);
    h.rooms = await RoomObserver.create(h.sub, h.keys, mode, (event) => {
      const list = h.published.get(event.runId) ?? [];
      list.push(event);
      h.published.set(event.runId, list);
    });
    return h;
  }

  /** The Pub/Sub mode the router publishes in (auto: sharded on Redis ≥ 7). */
  get pubsubMode(): PubSubMode {
    return this.publisher.pubsubMode;
  }

  /** Starts a router (a replica's routing) on the harness connections. */
  async startRouter(): Promise<EventRouter> {
    const router = new EventRouter({
      config: this.config,
      connection: this.conn,
      workerConnection: this.workerConn,
      logger: silentLogger(),
      publisher: this.publisher,
    });
    this.routers.push(router);
    await router.start();
    return router;
  }

  /** Registers runs (owner `alice`), once each. */
  async register(...runIds: string[]): Promise<void> {
    const fresh = runIds.filter((r) => !this.registered.has(r));
    for (const r of fresh) this.registered.add(r);
    await this.rooms?.listen(...fresh);
    await Promise.all(
      fresh.map((runId) =>
        registerRun(this.conn, this.keys, {
          runId,
          owner: 'alice',
          status: 'running',
        }),
      ),
    );
  }

  /** Commits one event directly through the RunStore (registering its run), as a router would. */
  async commit(event: EventEnvelope): Promise<RunCommitResult> {
    await this.register(event.runId);
    return this.store.commit(event.runId, [this.store.pack(event)]);
  }

  /** The leader's gap sweep over this harness's store. */
  sweepDeps(): { config: AppConfig; store: RunStore; logger: ReturnType<typeof silentLogger> } {
    return { config: this.config, store: this.store, logger: silentLogger() };
  }

  /** Published seqs of a run, sorted, without duplicates. */
  publishedSeqs(runId: string): number[] {
    return [...new Set((this.published.get(runId) ?? []).map((e) => e.seq))].sort((a, b) => a - b);
  }

  async headSeq(runId: string): Promise<number> {
    return Number((await this.conn.hget(this.keys.runMeta(runId), 'headSeq')) ?? 0);
  }

  async close(): Promise<void> {
    Harness.open.delete(this);
    await Promise.allSettled(this.routers.map((r) => r.close()));
    await Promise.allSettled([this.queue.close(), this.rawQueue.close(), this.dlq.close()]);
    await Promise.allSettled([closeRedis(this.conn), closeRedis(this.workerConn), closeRedis(this.sub)]);
  }
}

/** A valid envelope as an agent would enqueue it (epoch 0). */
/** What {@link standaloneRedisHarness} gives a describe block. */
export interface StandaloneHarness {
  /** The block's Redis (started in its beforeAll). */
  readonly server: RedisServer;
  /** A harness on that Redis, with extra config (env names); closed after each test. */
  readonly harness: (env?: Record<string, string>) => Promise<Harness>;
}

/**
 * Registers the hooks of a describe block whose tests share one standalone Redis — started once in
 * beforeAll, every harness closed after each test — and returns its harness factory.
 */
export function standaloneRedisHarness(): StandaloneHarness {
  let server: RedisServer | null = null;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(Harness.closeAll);
  const started = (): RedisServer => {
    if (!server) throw new Error('the Redis of this describe block starts in its beforeAll');
    return server;
  };
  return {
    get server() {
      return started();
    },
    harness: (env = {}) => Harness.create({ redisEnv: { REDIS_URL: started().url }, env }),
  };
}

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
