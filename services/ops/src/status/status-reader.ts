import type { AppConfig } from '@agent-bridge/config';
import type {
  DeadLetterRecord,
  HealthStatus,
  KeyLayout,
  MemberRecord,
  PublishedState,
  QueueStats,
  RunRecord,
  StateTransition,
} from '@agent-bridge/protocol';
import { queueStats } from '@agent-bridge/bridge';
import { type RedisConnection, listRuns } from '@agent-bridge/redis';
import { type Job, Queue } from 'bullmq';
import { reasonText } from '../dlq/dead-letters';

/** A member record as shown to operators: alive (expiry in the future) or dead but not yet removed. */
export interface MemberView extends MemberRecord {
  alive: boolean;
  /** Milliseconds since its last heartbeat. */
  lastSeenAgoMs: number;
}

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
  recoveries: unknown[];
  /** Newest first. */
  failures: FailureView[];
  /** How often the page refreshes. */
  refreshMs: number;
}

function parseJson<T>(raw: string | null | undefined): T | null {
  if (!raw) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

function toInt(raw: string | null | undefined): number | null {
  if (raw === null || raw === undefined || raw === '') return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
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
  private closing: Promise<void> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly keys: KeyLayout,
    private readonly conn: RedisConnection,
  ) {
    const names = [config.queues.events, config.queues.control, config.queues.deadLetter, config.queues.runs];
    this.queues = new Map(
      names.map((name) => {
        const queue = new Queue(name, { connection: conn, prefix: keys.bullPrefix, skipVersionCheck: true });
        // Connection errors surface as failed reads; an unhandled 'error' event would crash the process.
        queue.on('error', () => undefined);
        return [name, queue];
      }),
    );
  }

  /** The BullMQ queues read by this reader (events, control, dead-letter, runs), by name. */
  get queueObjects(): ReadonlyMap<string, Queue> {
    return this.queues;
  }

  /** One consistent-enough snapshot for operators (several round trips, sent together). */
  async status(): Promise<OpsStatus> {
    const now = Date.now();
    const [integration, leader, healthRaw, replicas, gateways, queues, transitions, recoveries, failures] =
      await Promise.all([
        this.integration(),
        this.leader(),
        this.conn.get(this.keys.integrationHealth),
        this.members('bridge', now),
        this.members('gateway', now),
        this.queueStats(now),
        this.history(10),
        this.recoveries(10),
        this.failures(10),
      ]);
    const health = parseJson<HealthStatus>(healthRaw);
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
    };
  }

  async integration(): Promise<PublishedState | null> {
    return parseJson<PublishedState>(await this.conn.get(this.keys.integrationState));
  }

  /** The leader's last published health check (null when none yet). */
  async health(): Promise<HealthStatus | null> {
    return parseJson<HealthStatus>(await this.conn.get(this.keys.integrationHealth));
  }

  /** The transition history, newest first. */
  async history(limit = 50): Promise<StateTransition[]> {
    const raws = await this.conn.lrange(this.keys.integrationHistory, 0, Math.max(limit, 1) - 1);
    return raws.map((r) => parseJson<StateTransition>(r)).filter((t): t is StateTransition => t !== null);
  }

  async recoveries(limit = 20): Promise<unknown[]> {
    const raws = await this.conn.lrange(this.keys.recoveryLog, 0, Math.max(limit, 1) - 1);
    return raws.map((r) => parseJson<unknown>(r) ?? r);
  }

  async leader(): Promise<LeaderView> {
    const [record, pttl, last] = await Promise.all([
      this.conn.hgetall(this.keys.leader),
      this.conn.pttl(this.keys.leader),
      this.conn.get(this.keys.leaderEpoch),
    ]);
    const id = record['id'] ?? null;
    return {
      id,
      epoch: id === null ? null : toInt(record['epoch']),
      leaseRemainingMs: id === null ? null : pttl >= 0 ? pttl : null,
      lastIssuedEpoch: toInt(last),
    };
  }

  /** Every member record of a role, alive or not yet removed, ordered by id. */
  async members(role: 'bridge' | 'gateway', now = Date.now()): Promise<MemberView[]> {
    const [scores, records] = await Promise.all([
      this.conn.zrangebyscore(this.keys.members(role), '-inf', '+inf', 'WITHSCORES'),
      this.conn.hgetall(this.keys.memberRecords(role)),
    ]);
    const expiry = new Map<string, number>();
    for (let i = 0; i + 1 < scores.length; i += 2) expiry.set(scores[i] as string, Number(scores[i + 1]));
    const out: MemberView[] = [];
    for (const raw of Object.values(records)) {
      const rec = parseJson<MemberRecord>(raw);
      if (!rec) continue;
      out.push({ ...rec, alive: (expiry.get(rec.id) ?? 0) > now, lastSeenAgoMs: Math.max(0, now - rec.lastSeen) });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Depth and lag of every queue. */
  async queueStats(now = Date.now()): Promise<QueueStats[]> {
    return Promise.all([...this.queues.values()].map((q) => queueStats(q, this.conn, now)));
  }

  /** Recent dead-lettered events and failed jobs (events and control queues), newest first. */
  async failures(limit = 20): Promise<FailureView[]> {
    const dlq = this.queues.get(this.config.queues.deadLetter);
    const failedOf = [this.config.queues.events, this.config.queues.control]
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
          at: job.finishedOn ?? job.processedOn ?? job.timestamp ?? null,
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
    this.closing ??= (async () => {
      await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    })();
    return this.closing;
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
    at: rec?.deadLetteredAt ?? job.timestamp ?? null,
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
  return { ...member, info: { ...info, delivered: delivery?.delivered } };
}
