import type { AppConfig } from '@agent-bridge/config';
import { type IntegrationStateReader, listMembers, queueStats } from '@agent-bridge/control-plane';
import {
  type CheckResult,
  type HealthStatus,
  IntegrationState,
  type KeyLayout,
  type LeaderInfo,
  type PubSubMode,
  type QueueStats,
  consumedEventQueues,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { Queue } from 'bullmq';
import type { LeaderElector } from '../leader/leader-elector';
import {
  type CheckFinding,
  CheckName,
  gatewaysFinding,
  queuesFinding,
  redisFinding,
  replicasFinding,
  timed,
} from './checks';
import { EndToEndProbe } from './probe';

/** What a {@link HealthChecker} reads. Connections are never closed by it. */
export interface HealthCheckerOptions {
  config: AppConfig;
  keys: KeyLayout;
  /** Data Redis, command role (checks, queue counts, the probe's publish). */
  connection: RedisConnection;
  /** Connection the probe SUBSCRIBEs its reply channel on. */
  subscriber: RedisConnection;
  elector: LeaderElector;
  reader: IntegrationStateReader;
  /** The recovery (control) queue, counted beside the events queues; owned by the caller. */
  recoveryQueue: Queue;
  /** The replica's Pub/Sub mode, for the end-to-end probe. @defaultValue resolved by the probe itself */
  pubsubMode?: () => PubSubMode | null;
}

/**
 * Runs every check of the integration (Redis, lease, queues, replicas, gateways, end-to-end probe) and
 * gathers what a health report shows beside them. Read-only: any replica may run it; what the leader makes
 * of it is transitions.ts's business. Owns the events queues it counts (closed by {@link close}).
 */
export class HealthChecker {
  /** Every events queue the replicas consume (partitions, plus a previous count's while it drains). */
  private readonly eventsQueues: Queue[];
  private readonly probe: EndToEndProbe;

  constructor(private readonly options: HealthCheckerOptions) {
    const { config, keys, connection, subscriber, pubsubMode } = options;
    const q = config.queues;
    this.eventsQueues = consumedEventQueues(
      config.keyPrefix,
      q.events,
      q.eventPartitions,
      q.previousEventPartitions,
    ).map((ref) => new Queue(ref.name, { connection, prefix: ref.prefix }));
    this.probe = new EndToEndProbe({
      connection,
      subscriber,
      keys,
      timeoutMs: config.health.probeTimeoutMs,
      latencyWarnMs: config.health.probeLatencyWarnMs,
      config,
      ...(pubsubMode ? { pubsubMode } : {}),
    });
  }

  /**
   * Runs every check now and reports them with the published state, the leader and its lease, queue
   * counts and lag, and the live replicas and gateways.
   */
  async run(): Promise<HealthStatus> {
    const { config, connection, keys, reader, recoveryQueue } = this.options;
    const now = Date.now();
    const [replicas, gateways, leader, published] = await Promise.all([
      listMembers(connection, keys, 'bridge').catch(() => []),
      listMembers(connection, keys, 'gateway').catch(() => []),
      this.leaderInfo(),
      reader.current().catch(() => null),
    ]);
    const stats = await Promise.all([
      queueStats(recoveryQueue, connection, now),
      Promise.all(this.eventsQueues.map((queue) => queueStats(queue, connection, now))),
    ]).catch(() => null);
    const checks: CheckResult[] = await Promise.all([
      timed(CheckName.Redis, () => redisFinding(connection, config)),
      timed(CheckName.Lease, () => Promise.resolve(this.leaseFinding(leader))),
      timed(CheckName.Queues, () => Promise.resolve(queuesCheck(stats, config))),
      timed(CheckName.Replicas, () => Promise.resolve(replicasFinding(replicas, config))),
      timed(CheckName.Gateways, () => Promise.resolve(gatewaysFinding(gateways, config))),
      timed(CheckName.Probe, () => this.probe.run(gateways.map((g) => g.id))),
    ]);
    return {
      state: published?.state ?? IntegrationState.Uninitialized,
      checkedAt: now,
      checks,
      leader,
      // Events queues first (as before partitions, when the events queue came first).
      queues: stats ? [...stats[1], stats[0]] : [],
      replicas,
      gateways,
    };
  }

  /** The live leader record as a report shows it (all null when nobody leads or Redis did not answer). */
  async leaderInfo(): Promise<LeaderInfo> {
    const rec = await this.options.elector.currentLeader().catch(() => null);
    return rec
      ? { leaderId: rec.id, epoch: rec.epoch, leaseRemainingMs: rec.pttlMs }
      : { leaderId: null, epoch: null, leaseRemainingMs: null };
  }

  /** The `lease` check: ok while someone leads, else fail with why this replica could not lead. */
  leaseFinding(leader: LeaderInfo): CheckFinding {
    if (leader.leaderId !== null) {
      return {
        severity: 'ok',
        detail: `leader ${leader.leaderId}, epoch ${leader.epoch ?? '?'}, lease ${leader.leaseRemainingMs ?? '?'} ms left`,
      };
    }
    const status = this.options.elector.getStatus();
    return { severity: 'fail', detail: `no leader: ${status.lastError ?? 'election in progress'}` };
  }

  /** Closes the events queues it opened. Never throws. */
  async close(): Promise<void> {
    await Promise.allSettled(this.eventsQueues.map((q) => q.close()));
  }
}

/** The `queues` check over [control queue, events queues] counts; a failed count fails it (timed() says so). */
function queuesCheck(stats: readonly [QueueStats, QueueStats[]] | null, config: AppConfig): CheckFinding {
  if (!stats) throw new Error('queue counts unavailable');
  return queuesFinding(stats[1], stats[0], config);
}
