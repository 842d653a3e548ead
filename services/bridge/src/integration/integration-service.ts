import type { AppConfig } from '@agent-bridge/config';
import {
  IntegrationStateReader,
  type PublishedResult,
  RecoveryQueue,
  incidentIdFor,
} from '@agent-bridge/control-plane';
import {
  type HealthStatus,
  type IntegrationResult,
  IntegrationState,
  type KeyLayout,
  type PubSubMode,
  type RecoveryResult,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { Lifecycle } from '@agent-bridge/runtime';
import { type Logger, metrics } from '@agent-bridge/telemetry';
import type { LeaderDuty } from '../leader/duty';
import type { LeaderElector } from '../leader/leader-elector';
import { CheckName } from './checks';
import { EnsureRpc } from './ensure-rpc';
import { HealthChecker } from './health-check';
import { HealthDuty } from './health-duty';
import { LeaderlessWatch } from './leaderless-watch';
import { processRecovery, workRecoveryQueue } from './recovery';
import { IntegrationStateStore } from './state-store';
import { IntegrationDriver } from './transitions';

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
 * The integration lifecycle's public API: `ensureIntegration()`, `healthCheck()`, `recoverIntegration()`,
 * plus the leader duties that drive the published state machine, for the replica to register.
 *
 * Any replica can call the three operations. On the leader, `ensureIntegration()` runs the checks under
 * its fencing epoch; on a standby it PUBLISHes a request on `keys.ensureRequestChannel` and waits for the
 * leader's next result. Concurrent callers in one process share one attempt.
 *
 * Who does what: the checks (health-check.ts), the rules (evaluation.ts), the leader's fenced writes
 * (transitions.ts), the health loop (health-duty.ts), recovery jobs (recovery.ts), the standby ↔ leader
 * RPC (ensure-rpc.ts) and the leaderless watch (leaderless-watch.ts).
 */
export class IntegrationService {
  readonly reader: IntegrationStateReader;
  private readonly store: IntegrationStateStore;
  private readonly recovery: RecoveryQueue;
  private readonly checker: HealthChecker;
  private readonly driver: IntegrationDriver;
  private readonly healthDuty: HealthDuty;
  private readonly rpc: EnsureRpc;
  private readonly leaderless: LeaderlessWatch;
  // A close does not wait for a start stuck on a SUBSCRIBE: the replica's shutdown must go on.
  private readonly lifecycle = new Lifecycle({ closeWaitsForStart: false });
  private ensuring: Promise<IntegrationResult> | null = null;

  constructor(private readonly options: IntegrationServiceOptions) {
    const { config, keys, connection, subscriber, elector, id, logger } = options;
    this.store = new IntegrationStateStore(connection, keys, config.health.historyLength);
    this.reader = new IntegrationStateReader({ connection, keys, subscriber });
    this.recovery = new RecoveryQueue(config, connection, keys.bullPrefix);
    this.checker = new HealthChecker({
      config,
      keys,
      connection,
      subscriber,
      elector,
      reader: this.reader,
      recoveryQueue: this.recovery.queue,
      ...(options.pubsubMode ? { pubsubMode: options.pubsubMode } : {}),
    });
    const healthCheck = (): Promise<HealthStatus> => this.checker.run();
    this.driver = new IntegrationDriver({ id, config, reader: this.reader, store: this.store, healthCheck });
    this.healthDuty = new HealthDuty({
      config,
      driver: this.driver,
      healthCheck,
      recover: (reason) => this.recoverIntegration(reason),
      logger,
    });
    this.rpc = new EnsureRpc({
      id,
      keys,
      connection,
      subscriber,
      elector,
      logger,
      runEnsure: (ctx, why) => this.driver.ensure(ctx, why),
    });
    this.leaderless = new LeaderlessWatch({
      id,
      elector,
      store: this.store,
      reader: this.reader,
      absentFailMs: config.leader.absentFailMs,
      logger,
    });
    elector.onQuorumLost((ctx, reason) => this.driver.publishQuorumLost(ctx, reason));
  }

  /**
   * The leader duties that drive the published state machine, for whoever composes the replica to register
   * with the elector (beside the gap sweeper): the health loop (an ensure at the start of each term, then a
   * check every interval) and the recovery worker.
   */
  duties(): { health: LeaderDuty; recovery: LeaderDuty } {
    const { config, keys, workerConnection, elector, logger } = this.options;
    const deps = { context: () => elector.context, driver: this.driver, store: this.store, logger };
    return {
      health: (ctx) => this.healthDuty.run(ctx),
      recovery: (ctx) =>
        workRecoveryQueue(
          config,
          workerConnection,
          keys.bullPrefix,
          (job) => processRecovery(job, deps),
          ctx.signal,
          logger,
        ),
    };
  }

  /** Subscribes to ensure requests and results, and starts the leaderless watch. Idempotent. */
  start(): Promise<void> {
    return this.lifecycle.start(async () => {
      await this.rpc.start();
      this.leaderless.start();
    });
  }

  getStatus(): IntegrationServiceStatus {
    return {
      ensureAttempts: this.driver.ensureAttempts,
      healthChecks: this.healthDuty.healthChecks,
      degradedStreak: this.healthDuty.degradedStreak,
      lastResult: this.driver.lastResult,
    };
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
        if (ctx) return strip(await this.driver.ensure(ctx, 'ensureIntegration'));
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
  healthCheck(): Promise<HealthStatus> {
    return this.checker.run();
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
    return this.lifecycle.close(async () => {
      await this.leaderless.close();
      await this.rpc.close();
      await Promise.allSettled([this.reader.close(), this.recovery.close(), this.checker.close()]);
    });
  }

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

  /** Standby: ask the leader and wait for its next published result. */
  private async askLeader(): Promise<IntegrationResult> {
    const { config } = this.options;
    const started = performance.now();
    const leader = await this.checker.leaderInfo();
    const cur = await this.reader.current().catch(() => null);
    const fail = (detail: string): IntegrationResult => ({
      ok: false,
      state: cur?.state ?? IntegrationState.Uninitialized,
      leaderId: leader.leaderId,
      epoch: leader.epoch,
      checks: [{ name: CheckName.Lease, ok: false, severity: 'fail', latencyMs: 0, detail }],
      durationMs: Math.round(performance.now() - started),
    });
    if (leader.leaderId === null) return fail(this.checker.leaseFinding(leader).detail);
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
