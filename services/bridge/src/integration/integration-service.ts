import type { AppConfig } from '@agent-bridge/config';
import {
  IntegrationStateReader,
  type PublishedResult,
  RecoveryQueue,
  incidentIdFor,
  listMembers,
  queueStats,
} from '@agent-bridge/control-plane';
import {
  type CheckResult,
  FencedError,
  type HealthStatus,
  IllegalStateError,
  type IntegrationResult,
  IntegrationState,
  type KeyLayout,
  type LeaderInfo,
  NotLeaderError,
  type PubSubMode,
  type PublishedState,
  type RecoverJob,
  type RecoveryResult,
  consumedEventQueues,
  isLegalTransition,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { type Logger, metrics, withSpan } from '@agent-bridge/telemetry';
import { type Job, Queue } from 'bullmq';
import { sleepUnlessAborted } from '../leader/abortable';
import type { LeaderContext, LeaderDuty, LeaderElector } from '../leader/leader-elector';
import {
  CheckName,
  deriveState,
  failingChecks,
  gatewaysFinding,
  queuesFinding,
  redisFinding,
  replicasFinding,
  summarize,
  timed,
} from './checks';
import { LeaderlessWatch } from './leaderless-watch';
import { EndToEndProbe } from './probe';
import { EnsureRpc } from './ensure-rpc';
import { workRecoveryQueue } from './recovery';
import { IntegrationStateStore } from './state-store';

/** Options of {@link IntegrationService}. */
export interface IntegrationServiceOptions {
  config: AppConfig;
  keys: KeyLayout;
  /** This replica's id. */
  id: string;
  /** Data Redis, command role (Lua, queues, emitter). Never closed by the service. */
  connection: RedisConnection;
  /** Connection for SUBSCRIBE (ensure requests, results, probe replies). Never closed by the service. */
  subscriber: RedisConnection;
  /** Connection for the recovery Worker (`maxRetriesPerRequest: null`). Never closed by the service. */
  workerConnection: RedisConnection;
  elector: LeaderElector;
  logger: Logger;
  /** The replica's Pub/Sub mode, for the end-to-end probe. @defaultValue resolved by the probe itself */
  pubsubMode?: () => PubSubMode | null;
}

/** Counters for status pages and tests. */
export interface IntegrationServiceStatus {
  /** ensureIntegration attempts this replica ran as leader. */
  ensureAttempts: number;
  /** Health checks this replica ran as leader. */
  healthChecks: number;
  /** Consecutive DEGRADED checks (leader). */
  degradedStreak: number;
  lastResult: PublishedResult | null;
}

/**
 * The integration lifecycle: `ensureIntegration()`, `healthCheck()`, `recoverIntegration()`, plus the
 * leader duties that drive the published state machine (health loop, recovery worker, housekeeping).
 *
 * Any replica can call the three operations. On the leader, `ensureIntegration()` runs the checks under
 * its fencing epoch; on a standby it PUBLISHes a request on `keys.ensureRequestChannel` and waits for the
 * leader's next result. Concurrent callers in one process share one attempt.
 */
export class IntegrationService {
  readonly reader: IntegrationStateReader;
  private readonly store: IntegrationStateStore;
  private readonly recovery: RecoveryQueue;
  /** Every events queue the replicas consume (partitions, plus a previous count's while it drains). */
  private readonly eventsQueues: Queue[];
  private readonly probe: EndToEndProbe;
  private readonly leaderless: LeaderlessWatch;
  private state: 'idle' | 'running' | 'closed' = 'idle';
  private ensuring: Promise<IntegrationResult> | null = null;
  private leaderAttempt: Promise<PublishedResult> | null = null;
  private readonly rpc: EnsureRpc;
  private closing: Promise<void> | null = null;
  private readonly counters: IntegrationServiceStatus = {
    ensureAttempts: 0,
    healthChecks: 0,
    degradedStreak: 0,
    lastResult: null,
  };

  constructor(private readonly options: IntegrationServiceOptions) {
    const { config, keys, connection, subscriber } = options;
    this.store = new IntegrationStateStore(connection, keys, config.health.historyLength);
    this.reader = new IntegrationStateReader({ connection, keys, subscriber });
    this.recovery = new RecoveryQueue(config, connection, keys.bullPrefix);
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
      ...(options.pubsubMode ? { pubsubMode: options.pubsubMode } : {}),
    });
    const e = options.elector;
    this.rpc = new EnsureRpc({
      id: options.id,
      keys,
      connection,
      subscriber,
      elector: e,
      logger: options.logger,
      runEnsure: (ctx, why) => this.runEnsure(ctx, why),
    });
    this.leaderless = new LeaderlessWatch({
      id: options.id,
      elector: e,
      store: this.store,
      reader: this.reader,
      absentFailMs: config.leader.absentFailMs,
      logger: options.logger,
    });
    e.onQuorumLost((ctx, reason) => this.publishQuorumLost(ctx, reason));
  }

  /**
   * The leader duties that drive the published state machine, for whoever composes the replica to register
   * with the elector (beside the gap sweeper): the health loop (an ensure at the start of each term, then a
   * check every interval) and the recovery worker.
   */
  duties(): { health: LeaderDuty; recovery: LeaderDuty } {
    const { config, keys, workerConnection, logger } = this.options;
    return {
      health: (ctx) => this.healthDuty(ctx),
      recovery: (ctx) =>
        workRecoveryQueue(
          config,
          workerConnection,
          keys.bullPrefix,
          (job) => this.processRecovery(job),
          ctx.signal,
          logger,
        ),
    };
  }

  /** Subscribes to ensure requests and results, and starts the leaderless watch. Idempotent. */
  async start(): Promise<void> {
    if (this.state === 'closed') throw new IllegalStateError('closed', 'start');
    if (this.state === 'running') return;
    this.state = 'running';
    await this.rpc.start();
    this.leaderless.start();
  }

  getStatus(): IntegrationServiceStatus {
    return { ...this.counters };
  }

  /**
   * Makes sure the integration is set up and healthy, idempotently. Concurrent callers in this process
   * share one attempt; a standby asks the leader and returns the leader's next result. Never throws for
   * an unhealthy integration: `ok` is false and `checks` say why.
   */
  ensureIntegration(): Promise<IntegrationResult> {
    this.ensuring ??= (async () => {
      try {
        const ctx = this.options.elector.context;
        if (ctx) return strip(await this.runEnsure(ctx, 'ensureIntegration'));
        return await this.askLeader();
      } finally {
        this.ensuring = null;
      }
    })();
    return this.ensuring;
  }

  /**
   * Runs every check now and reports them with the published state, the leader and its lease, queue
   * counts and lag, and the live replicas and gateways. Read-only (the leader's health loop is what
   * drives transitions from it).
   */
  async healthCheck(): Promise<HealthStatus> {
    const { config, connection, keys } = this.options;
    const now = Date.now();
    const [replicas, gateways, leader, published] = await Promise.all([
      listMembers(connection, keys, 'bridge').catch(() => []),
      listMembers(connection, keys, 'gateway').catch(() => []),
      this.leaderInfo(),
      this.reader.current().catch(() => null),
    ]);
    // The recovery queue's stats first, then one per events queue.
    const stats = await Promise.all([
      queueStats(this.recovery.queue, connection, now),
      ...this.eventsQueues.map((queue) => queueStats(queue, connection, now)),
    ]).catch(() => null);
    const checks: CheckResult[] = await Promise.all([
      timed(CheckName.Redis, () => redisFinding(connection, config)),
      timed(CheckName.Lease, () => Promise.resolve(this.leaseFinding(leader))),
      timed(CheckName.Queues, async () => {
        if (!stats) throw new Error('queue counts unavailable');
        return queuesFinding(stats.slice(1), stats[0]!, config);
      }),
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
      queues: stats ? [...stats.slice(1), stats[0]!] : [],
      replicas,
      gateways,
    };
  }

  /**
   * Schedules a recovery job for the current incident (the published FAILED/DEGRADED state, identified by
   * state and `since` so a leader change does not make it a new incident; or a manual one when the
   * integration looks fine). One job per incident cluster-wide.
   */
  async recoverIntegration(reason = 'manual request'): Promise<RecoveryResult> {
    const cur = await this.reader.current();
    const res = await this.recovery.request(incidentIdFor(cur), reason, this.options.id);
    if (res.enqueued) {
      metrics.recoveries.add(1, { outcome: 'enqueued' });
      this.options.logger.info({ ...res, reason }, 'recovery scheduled');
    }
    return res;
  }

  /** Stops listening and closes the queues. Idempotent; never throws. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closed';
      await this.leaderless.close();
      await this.rpc.close();
      await Promise.allSettled([
        this.reader.close(),
        this.recovery.close(),
        ...this.eventsQueues.map((q) => q.close()),
      ]);
    })();
    return this.closing;
  }

  // ---- leader side -------------------------------------------------------------------------------

  /** One ensure attempt under `ctx` (shared by concurrent callers on the leader). */
  private runEnsure(ctx: LeaderContext, why: string): Promise<PublishedResult> {
    this.leaderAttempt ??= (async () => {
      try {
        return await withSpan(
          'integration.ensure',
          { 'agent_bridge.epoch': ctx.epoch, 'agent_bridge.reason': why },
          () => this.ensureAttempt(ctx, why),
        );
      } finally {
        this.leaderAttempt = null;
      }
    })();
    return this.leaderAttempt;
  }

  private async ensureAttempt(ctx: LeaderContext, why: string): Promise<PublishedResult> {
    const started = performance.now();
    this.counters.ensureAttempts++;
    const attemptId = `${this.options.id}-e${ctx.epoch}-${this.counters.ensureAttempts}`;
    const cur = await this.reader.current();
    const stale = await this.staleFor(cur);
    if (cur.state === IntegrationState.Uninitialized || stale !== null) {
      const note = stale === null ? '' : `; taking over a ${cur.state} state no leader checked for ${stale} ms`;
      await this.store.transition(
        ctx.epoch,
        ctx.leaderId,
        cur.state,
        IntegrationState.Initializing,
        `${why} (${attemptId})${note}`,
        [],
      );
    }
    const health = await this.healthCheck();
    const { target, note } = await this.evaluate(health.checks);
    await this.moveTo(
      ctx,
      target,
      `${why} (${attemptId}): ${summarize(health.checks)}${note}`,
      failingChecks(health.checks),
    );
    health.state = target;
    await this.store.publishHealth(ctx.epoch, health);
    const result: PublishedResult = {
      ok: target === IntegrationState.Active,
      state: target,
      leaderId: ctx.leaderId,
      epoch: ctx.epoch,
      checks: health.checks,
      durationMs: Math.round(performance.now() - started),
      attemptId,
      at: Date.now(),
    };
    await this.store.publishResult(ctx.epoch, result);
    this.counters.lastResult = result;
    return result;
  }

  /**
   * The state the checks lead to. During a cold start (the state is INITIALIZING) anything short of ACTIVE
   * keeps it INITIALIZING until `health.startupGraceMs` after initialization began (`since`, so a leader
   * change does not restart the grace): gateways and replicas started alongside get time to register, and a
   * normal start goes UNINITIALIZED → INITIALIZING → ACTIVE only. After the grace the checks decide.
   */
  private async evaluate(checks: CheckResult[]): Promise<{ target: IntegrationState; note: string }> {
    const target = deriveState(checks);
    if (target === IntegrationState.Active) return { target, note: '' };
    const cur = await this.reader.current();
    const left = cur.since + this.options.config.health.startupGraceMs - Date.now();
    if (cur.state !== IntegrationState.Initializing || left <= 0) return { target, note: '' };
    return { target: IntegrationState.Initializing, note: ` (starting: ${left} ms of start-up grace left)` };
  }

  /**
   * How long nobody has checked a state that claims something (ACTIVE, DEGRADED, FAILED), when that is longer
   * than a leader failover can explain — the cluster was down (all replicas crashed) and is starting again;
   * null otherwise. A new leader then starts over from INITIALIZING instead of trusting the left-over state.
   */
  private async staleFor(cur: PublishedState): Promise<number | null> {
    if (cur.state === IntegrationState.Uninitialized || cur.state === IntegrationState.Initializing) return null;
    const { leader, health } = this.options.config;
    const checkedAt = Math.max(cur.since, (await this.reader.latestHealth())?.checkedAt ?? 0);
    const age = Date.now() - checkedAt;
    const bound = leader.leaseTtlMs + leader.absentFailMs + 2 * health.intervalMs + health.probeTimeoutMs;
    return age > bound ? age : null;
  }

  /** Transitions to `target` along legal edges (UNINITIALIZED goes through INITIALIZING). */
  private async moveTo(
    ctx: LeaderContext,
    target: IntegrationState,
    reason: string,
    failing: CheckResult[],
  ): Promise<void> {
    const published = await this.reader.current();
    let cur = published.state;
    metrics.setIntegrationState(target);
    if (cur === target) {
      // Same state, different cause (e.g. FAILED for another reason): keep the current value truthful.
      const names = (checks: CheckResult[]): string => checks.map((c) => `${c.name}:${c.severity}`).join(',');
      if (names(published.failingChecks) !== names(failing)) {
        await this.store.annotate(ctx.epoch, ctx.leaderId, published, reason, failing);
      }
      return;
    }
    if (!isLegalTransition(cur, target)) {
      await this.store.transition(ctx.epoch, ctx.leaderId, cur, IntegrationState.Initializing, reason, failing);
      metrics.integrationTransitions.add(1, { from: cur, to: IntegrationState.Initializing });
      cur = IntegrationState.Initializing;
    }
    await withSpan('integration.transition', { 'agent_bridge.from': cur, 'agent_bridge.to': target }, () =>
      this.store.transition(ctx.epoch, ctx.leaderId, cur, target, reason, failing),
    );
    metrics.integrationTransitions.add(1, { from: cur, to: target });
  }

  /** Leader duty: an ensure at the start of the term, then a health check every interval. */
  private async healthDuty(ctx: LeaderContext): Promise<void> {
    const { config, logger } = this.options;
    this.counters.degradedStreak = 0;
    await this.guard(ctx, async () => {
      const first = await this.runEnsure(ctx, `leader ${ctx.leaderId} took over with epoch ${ctx.epoch}`);
      await this.afterEvaluation(first.state);
    });
    while (!ctx.signal.aborted) {
      await sleepUnlessAborted(config.health.intervalMs, ctx.signal);
      if (ctx.signal.aborted) return;
      await this.guard(ctx, async () => {
        const health = await withSpan('integration.health_check', { 'agent_bridge.epoch': ctx.epoch }, () =>
          this.healthCheck(),
        );
        if (ctx.signal.aborted) return;
        this.counters.healthChecks++;
        const { target, note } = await this.evaluate(health.checks);
        metrics.healthChecks.add(1, { state: target });
        await this.moveTo(
          ctx,
          target,
          `health check: ${summarize(health.checks)}${note}`,
          failingChecks(health.checks),
        );
        health.state = target;
        await this.store.publishHealth(ctx.epoch, health);
        await this.afterEvaluation(target);
      });
    }
    logger.debug('health duty stopped');
  }

  /** Schedules recovery on FAILED, and after `degradedRecoveryAfter` consecutive DEGRADED evaluations. */
  private async afterEvaluation(state: IntegrationState): Promise<void> {
    const c = this.counters;
    c.degradedStreak = state === IntegrationState.Degraded ? c.degradedStreak + 1 : 0;
    if (state === IntegrationState.Failed) {
      await this.recoverIntegration('integration FAILED');
    } else if (c.degradedStreak >= this.options.config.health.degradedRecoveryAfter) {
      await this.recoverIntegration(`DEGRADED for ${c.degradedStreak} consecutive checks`);
    }
  }

  /** Runs leader work; a FencedError ends the term (rethrown to the elector), other errors are logged. */
  private async guard(ctx: LeaderContext, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (err instanceof FencedError) throw err;
      if (!ctx.signal.aborted) this.options.logger.warn({ err }, 'leader work failed');
    }
  }

  private async processRecovery(job: Job<RecoverJob>): Promise<void> {
    const ctx = this.options.elector.context;
    if (!ctx) throw new NotLeaderError('recovery job picked up by a replica that no longer leads');
    const attempt = job.attemptsMade + 1;
    const result = await this.runEnsure(ctx, `recovery ${job.id ?? ''} attempt ${attempt}`);
    const recovered = result.state === IntegrationState.Active;
    const last = attempt >= (job.opts.attempts ?? 1);
    metrics.recoveries.add(1, { outcome: recovered ? 'succeeded' : last ? 'failed' : 'retrying' });
    await this.store.logRecovery(ctx.epoch, {
      incidentId: job.data.incidentId,
      jobId: job.id ?? '',
      attempt,
      outcome: recovered ? 'recovered' : last ? 'gave-up' : 'still-failing',
      state: result.state,
      leaderId: ctx.leaderId,
      epoch: ctx.epoch,
      at: Date.now(),
      failingChecks: failingChecks(result.checks),
    });
    this.options.logger.info({ jobId: job.id, attempt, state: result.state }, 'recovery attempt finished');
    if (!recovered) throw new Error(`still ${result.state}: ${summarize(result.checks)}`);
  }

  /** The lock quorum is gone: record why (FAILED with a failing `lease` check) while our epoch is valid. */
  private async publishQuorumLost(ctx: LeaderContext, reason: string): Promise<void> {
    const check: CheckResult = {
      name: CheckName.Lease,
      ok: false,
      severity: 'fail',
      latencyMs: 0,
      detail: `leader ${ctx.leaderId} lost its lease and no replica can lead: ${reason}`,
    };
    await this.moveTo(ctx, IntegrationState.Failed, check.detail, [check]);
  }

  // ---- any replica -------------------------------------------------------------------------------

  /**
   * First step of a replica's shutdown: stops the leaderless watch (a replica on its way out must not judge
   * the cluster). Idempotent.
   */
  quiesce(): Promise<void> {
    return this.leaderless.close();
  }

  /**
   * Last step of a replica's clean shutdown, after it handed leadership over and removed its membership
   * record: when no bridge replica is alive any more and nobody leads, publishes UNINITIALIZED ("cluster
   * stopped"), so a stopped cluster does not go on claiming ACTIVE and the next start goes UNINITIALIZED →
   * INITIALIZING → ACTIVE. Written by `lua/transition-state-5.lua` (only while no leader record and no
   * live replica exists). Returns whether it wrote; never throws.
   */
  async markStoppedIfLast(): Promise<boolean> {
    const { id, logger } = this.options;
    try {
      const cur = await this.reader.current();
      if (cur.state === IntegrationState.Uninitialized) return false;
      const reason = `cluster stopped: the last bridge replica (${id}) shut down`;
      const out = await this.store.transitionWithoutLeader(
        'no-members',
        cur,
        IntegrationState.Uninitialized,
        reason,
        [],
      );
      if (out.done) logger.info({ from: cur.state }, 'last replica: published UNINITIALIZED (cluster stopped)');
      return out.done;
    } catch (err) {
      logger.warn({ err }, 'could not publish that the cluster stopped');
      return false;
    }
  }

  private async leaderInfo(): Promise<LeaderInfo> {
    const rec = await this.options.elector.currentLeader().catch(() => null);
    return rec
      ? { leaderId: rec.id, epoch: rec.epoch, leaseRemainingMs: rec.pttlMs }
      : { leaderId: null, epoch: null, leaseRemainingMs: null };
  }

  private leaseFinding(leader: LeaderInfo): { severity: CheckResult['severity']; detail: string } {
    if (leader.leaderId !== null) {
      return {
        severity: 'ok',
        detail: `leader ${leader.leaderId}, epoch ${leader.epoch ?? '?'}, lease ${leader.leaseRemainingMs ?? '?'} ms left`,
      };
    }
    const status = this.options.elector.getStatus();
    return { severity: 'fail', detail: `no leader: ${status.lastError ?? 'election in progress'}` };
  }

  /** Standby: ask the leader and wait for its next published result. */
  private async askLeader(): Promise<IntegrationResult> {
    const { config } = this.options;
    const started = performance.now();
    const leader = await this.leaderInfo();
    const cur = await this.reader.current().catch(() => null);
    const fail = (detail: string): IntegrationResult => ({
      ok: false,
      state: cur?.state ?? IntegrationState.Uninitialized,
      leaderId: leader.leaderId,
      epoch: leader.epoch,
      checks: [{ name: CheckName.Lease, ok: false, severity: 'fail', latencyMs: 0, detail }],
      durationMs: Math.round(performance.now() - started),
    });
    if (leader.leaderId === null) return fail(this.leaseFinding(leader).detail);
    const timeoutMs = config.health.probeTimeoutMs + config.leader.leaseTtlMs + 5_000;
    const result = await this.rpc.ask(timeoutMs);
    if (!result) return fail(`no result from leader ${leader.leaderId} within ${timeoutMs} ms`);
    return strip(result);
  }
}

/** The IntegrationResult part of a published result. */
function strip(r: PublishedResult | IntegrationResult): IntegrationResult {
  const out: IntegrationResult = {
    ok: r.ok,
    state: r.state,
    leaderId: r.leaderId,
    epoch: r.epoch,
    checks: r.checks,
    durationMs: r.durationMs,
  };
  if (r.attemptId !== undefined) out.attemptId = r.attemptId;
  return out;
}
