import type { AppConfig } from '@agent-bridge/config';
import {
  IntegrationStateReader,
  type MemberView,
  type RecoveryLogEntry,
  queueStats,
  readLastIssuedEpoch,
  readLeaderRecord,
  readMembers,
} from '@agent-bridge/control-plane';
import {
  type DeadLetterRecord,
  type HealthStatus,
  type KeyLayout,
  type PubSubMode,
  type PublishedState,
  type QueueStats,
  type RunRecord,
  type StateTransition,
  consumedEventQueues,
} from '@agent-bridge/protocol';
import {
  type RedisConnection,
  type RedisTopology,
  choosePubSubMode,
  describeTopology,
  listRuns,
  readTopology,
} from '@agent-bridge/redis';
import { Lifecycle } from '@agent-bridge/runtime';
import { type Job, Queue } from 'bullmq';
import { reasonText } from '../dlq/dead-letters';

/** The leader as recorded in Redis (the fencing authority), independent of what any replica believes. */
export interface LeaderView {
  id: string | null;
  epoch: number | null;
  /** Remaining validity of the leader record (= lease), null when there is no leader. */
  leaseRemainingMs: number | null;
  /** Last fencing epoch ever issued. */
  lastIssuedEpoch: number | null;
}

/** A recent failure an operator should look at. */
export interface FailureView {
  source: 'dead-letter' | 'failed-job';
  queue: string;
  jobId: string | null;
  name: string;
  reason: string;
  at: number | null;
}

/** The Redis deployment as the ops service sees it (one INFO per master per snapshot). */
export interface RedisView {
  /** standalone / sentinel (master name, the master it resolved) / cluster (masters, slot coverage). */
  topology: RedisTopology | null;
  /** One line, as in the banners; the read error when the topology could not be read. */
  summary: string;
  /**
   * Pub/Sub mode of this installation's settings on these masters (what bridges and gateways chose;
   * each member record shows its own in `info.pubsubMode`).
   */
  pubsubMode: PubSubMode | null;
  /** Events queue partitions (AB_EVENT_PARTITIONS). */
  eventPartitions: number;
}

/** Everything the status page, `GET /api/status` and `agent-bridge status` show. */
export interface OpsStatus {
  /** Server time of this snapshot (epoch ms). */
  now: number;
  keyPrefix: string;
  /** The published integration state (null before any leader published one). */
  integration: PublishedState | null;
  leader: LeaderView;
  /** The leader's last published health check, and its age. */
  health: HealthStatus | null;
  healthAgeMs: number | null;
  replicas: MemberView[];
  gateways: MemberView[];
  queues: QueueStats[];
  /** Newest first. */
  transitions: StateTransition[];
  /** Recovery outcomes, newest first (as the leader logged them). */
  recoveries: RecoveryLogEntry[];
  /** Newest first. */
  failures: FailureView[];
  /** How often the page refreshes. */
  refreshMs: number;
  redis: RedisView;
}

/**
 * Reads the state of an installation straight from Redis — the published integration state and history,
 * the leader record, membership, BullMQ queues, recoveries and failures — so it works with any number of
 * replicas and while no leader is elected. Read-only; it never writes.
 *
 * It is given a Redis connection (`command` role) and never closes it; `close()` closes its BullMQ
 * `Queue` objects (which share that connection).
 */
export class StatusReader {
  private readonly queues: Map<string, Queue>;
  /** Names of the events queues (one per partition), in partition order. */
  readonly eventQueueNames: readonly string[];
  private readonly state: IntegrationStateReader;
  private readonly lifecycle = new Lifecycle();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: KeyLayout,
    private readonly conn: RedisConnection,
  ) {
    this.state = new IntegrationStateReader({ connection: conn, keys });
    const q = config.queues;
    // Every events partition (and a previous count's queues while they drain), then the other queues.
    const refs = [
      ...consumedEventQueues(config.keyPrefix, q.events, q.eventPartitions, q.previousEventPartitions),
      ...[q.control, q.deadLetter, q.runs].map((name) => ({ name, prefix: keys.bullPrefix })),
    ];
    this.eventQueueNames = refs.slice(0, refs.length - 3).map((r) => r.name);
    this.queues = new Map(
      refs.map(({ name, prefix }) => {
        const queue = new Queue(name, { connection: conn, prefix, skipVersionCheck: true });
        // Connection errors surface as failed reads; an unhandled 'error' event would crash the process.
        queue.on('error', () => undefined);
        return [name, queue];
      }),
    );
  }

  /** The BullMQ queues read by this reader (events partitions, control, dead-letter, runs), by name. */
  get queueObjects(): ReadonlyMap<string, Queue> {
    return this.queues;
  }

  /** One consistent-enough snapshot for operators (several round trips, sent together). */
  async status(): Promise<OpsStatus> {
    const now = Date.now();
    const [integration, leader, health, replicas, gateways, queues, transitions, recoveries, failures, redis] =
      await Promise.all([
        this.integration(),
        this.leader(),
        this.health(),
        this.members('bridge', now),
        this.members('gateway', now),
        this.queueStats(now),
        this.history(10),
        this.recoveries(10),
        this.failures(10),
        this.redis(),
      ]);
    return {
      now,
      keyPrefix: this.keys.prefix,
      integration,
      leader,
      health,
      healthAgeMs: health ? now - health.checkedAt : null,
      replicas,
      gateways: gateways.map(compactDelivery),
      queues,
      transitions,
      recoveries,
      failures,
      refreshMs: this.config.ops.refreshMs,
      redis,
    };
  }

  /** The Redis topology, the Pub/Sub mode it gives and the partition count; never throws. */
  async redis(): Promise<RedisView> {
    const eventPartitions = this.config.queues.eventPartitions;
    try {
      const topology = await readTopology(this.conn, this.config);
      let pubsubMode: PubSubMode | null = null;
      try {
        pubsubMode = choosePubSubMode(this.config.redis.pubsubMode, topology);
      } catch {
        // sharded forced on an old master: the services refuse to start; the page shows the topology.
      }
      return { topology, summary: describeTopology(topology), pubsubMode, eventPartitions };
    } catch (err) {
      const summary = `topology unknown: ${err instanceof Error ? err.message : String(err)}`;
      return { topology: null, summary, pubsubMode: null, eventPartitions };
    }
  }

  /** The published integration state (null before any leader published one). */
  integration(): Promise<PublishedState | null> {
    return this.state.published();
  }

  /** The leader's last published health check (null when none yet). */
  health(): Promise<HealthStatus | null> {
    return this.state.latestHealth();
  }

  /** The transition history, newest first. */
  history(limit = 50): Promise<StateTransition[]> {
    return this.state.history(limit);
  }

  /** Recovery outcomes, newest first. */
  recoveries(limit = 20): Promise<RecoveryLogEntry[]> {
    return this.state.recoveries(limit);
  }

  async leader(): Promise<LeaderView> {
    const [record, last] = await Promise.all([
      readLeaderRecord(this.conn, this.keys),
      readLastIssuedEpoch(this.conn, this.keys),
    ]);
    return {
      id: record?.id ?? null,
      epoch: record?.epoch ?? null,
      leaseRemainingMs: record?.pttlMs ?? null,
      lastIssuedEpoch: last,
    };
  }

  /** Every member record of a role, alive or not yet removed, ordered by id. */
  members(role: 'bridge' | 'gateway', now = Date.now()): Promise<MemberView[]> {
    return readMembers(this.conn, this.keys, role, now);
  }

  /** Depth and lag of every queue. */
  async queueStats(now = Date.now()): Promise<QueueStats[]> {
    return Promise.all([...this.queues.values()].map((q) => queueStats(q, this.conn, now)));
  }

  /** Recent dead-lettered events and failed jobs (events and control queues), newest first. */
  async failures(limit = 20): Promise<FailureView[]> {
    const dlq = this.queues.get(this.config.queues.deadLetter);
    const failedOf = [...this.eventQueueNames, this.config.queues.control]
      .map((n) => this.queues.get(n))
      .filter((q): q is Queue => q !== undefined);
    const [dead, ...failed] = await Promise.all([
      dlq
        ? dlq.getJobs(['waiting', 'delayed', 'completed', 'failed', 'prioritized'], 0, limit - 1)
        : Promise.resolve([]),
      ...failedOf.map((q) => q.getFailed(0, limit - 1)),
    ]);
    const out: FailureView[] = [];
    for (const job of dead) out.push(deadLetterView(job, this.config.queues.deadLetter));
    failed.forEach((jobs, i) => {
      for (const job of jobs) {
        out.push({
          source: 'failed-job',
          queue: failedOf[i]?.name ?? '',
          jobId: job.id ?? null,
          name: job.name,
          reason: job.failedReason || 'failed',
          at: job.finishedOn ?? job.processedOn ?? job.timestamp,
        });
      }
    });
    return out.sort((a, b) => (b.at ?? 0) - (a.at ?? 0)).slice(0, limit);
  }

  /** Runs newest first (all, or one user's). */
  async runs(options: { userId?: string; limit?: number } = {}): Promise<RunRecord[]> {
    return listRuns(this.conn, this.keys, options);
  }

  /** Closes the queue objects (not the connection, which the caller owns). Idempotent. */
  close(): Promise<void> {
    return this.lifecycle.close(async () => {
      await Promise.allSettled([...[...this.queues.values()].map((q) => q.close()), this.state.close()]);
    });
  }
}

function deadLetterView(job: Job, queue: string): FailureView {
  const rec = job.data as Partial<DeadLetterRecord> | undefined;
  const reason = reasonText(rec);
  return {
    source: 'dead-letter',
    queue: rec?.queue ?? queue,
    jobId: rec?.jobId ?? job.id ?? null,
    name: rec?.name ?? job.name,
    reason,
    at: rec?.deadLetteredAt ?? job.timestamp,
  };
}

/**
 * A gateway's delivery histogram (`info.delivery`, for the chart sampler) is noise in a status table: show
 * its total as `info.delivered` instead.
 */
function compactDelivery(member: MemberView): MemberView {
  const delivery = member.info['delivery'] as { delivered?: unknown } | undefined;
  if (delivery === undefined) return member;
  const { delivery: _omitted, ...info } = member.info;
  return { ...member, info: { ...info, delivered: delivery.delivered } };
}
