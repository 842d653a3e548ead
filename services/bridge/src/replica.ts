import type { AppConfig } from '@agent-bridge/config';
import { IllegalStateError, keyLayout } from '@agent-bridge/protocol';
import {
  MemberHeartbeat,
  PUBSUB_MODE_FIELD,
  type RedisConnection,
  checkPubSubAgreement,
  checkRedis,
  choosePubSubMode,
  describeTopology,
  closeRedis,
  createLockClients,
  createRedis,
  waitUntilReady,
} from '@agent-bridge/redis';
import { Lifecycle, type LifecycleState, closeAll } from '@agent-bridge/runtime';
import type { Logger } from '@agent-bridge/telemetry';
import { isAborted, sleepUnlessAborted } from './leader/abortable';
import { IntegrationService } from './integration/integration-service';
import { type ElectorStatus, LeaderElector } from './leader/leader-elector';
import { RedlockLeaseClient } from './leader/lease-client';
import { membershipHousekeeping } from './leader/membership-housekeeping';
import { EventRouter, type EventRouterStatus, RoomPublisher, bridgeRunStore, sweepGaps } from './routing/index';
import type { PublishedState } from '@agent-bridge/protocol';

export type ReplicaState = LifecycleState;

/** What `/status` shows. */
export interface ReplicaStatus {
  id: string;
  state: ReplicaState;
  leader: ElectorStatus & { currentLeaderId: string | null; currentEpoch: number | null };
  integration: PublishedState | null;
  ensureAttempts: number;
  healthChecks: number;
  router: EventRouterStatus;
}

/** A bridge replica: event routing on every replica, leader election and the integration lifecycle. */
export interface Replica {
  readonly id: string;
  readonly elector: LeaderElector;
  readonly integration: IntegrationService;
  readonly router: EventRouter;
  start(): Promise<void>;
  /** Stops taking jobs, drains in-flight work, hands leadership over, closes connections. Idempotent. */
  close(): Promise<void>;
  getStatus(): Promise<ReplicaStatus>;
  /** Redis reachable and event workers running. */
  isReady(): Promise<boolean>;
}

/** Age at which a registration without events gets its TTL from the leader, and the sweep's period. */
const UNATTENDED_AFTER_MS = 60_000;
const UNATTENDED_SWEEP_MS = 30_000;

/**
 * Composes a replica from config. It creates (and closes) its own connections: a command connection, a
 * subscriber, a worker connection and the lease clients (REDIS_LOCK_URLS, or the data Redis).
 */
export function createReplica(config: AppConfig, logger: Logger): Replica {
  // loadConfig fills instanceId (AB_INSTANCE_ID, else <hostname>-<pid>).
  const id = config.instanceId;
  const keys = keyLayout(config.keyPrefix);
  const connection = createRedis(config, 'command', { name: `bridge:${id}` });
  const subscriber = createRedis(config, 'subscriber', { name: `bridge:${id}:sub` });
  const workerConnection = createRedis(config, 'worker', { name: `bridge:${id}:worker` });
  const lockClients: RedisConnection[] = createLockClients(config, `bridge:${id}:lock`);
  const lease = new RedlockLeaseClient({
    clients: lockClients,
    driftFactor: config.leader.driftFactor,
    sharesDataRedis: config.redis.lockUrls.length === 0,
  });
  const elector = new LeaderElector({
    id,
    keys,
    connection,
    subscriber,
    lease,
    leaseTtlMs: config.leader.leaseTtlMs,
    extendBeforeMs: config.leader.extendBeforeMs,
    retryDelayMs: config.leader.retryDelayMs,
    retryJitterMs: config.leader.retryJitterMs,
    logger: logger.child({ component: 'leader' }),
  });
  // One publisher for the router's commits and the leader's gap sweeps (and the probe's mode): one Pub/Sub
  // mode per process, chosen in start().
  const publisher = new RoomPublisher(connection, keys);
  const integration = new IntegrationService({
    pubsubMode: () => publisher.currentMode,
    config,
    keys,
    id,
    connection,
    subscriber,
    workerConnection,
    elector,
    logger: logger.child({ component: 'integration' }),
  });
  const router = new EventRouter({
    config,
    connection,
    workerConnection,
    logger: logger.child({ component: 'router' }),
    publisher,
  });
  const store = bridgeRunStore(config, connection, keys, publisher);
  elector.addDuty('gap-sweeper', async (ctx) => {
    const every = Math.max(50, Math.floor(config.events.gapTimeoutMs / 2));
    while (!ctx.signal.aborted) {
      try {
        await sweepGaps({ config, store, logger }, ctx.signal);
      } catch (err) {
        if (!isAborted(ctx.signal)) logger.warn({ err }, 'gap sweep failed');
      }
      await sleepUnlessAborted(every, ctx.signal);
    }
  });
  const integrationDuties = integration.duties();
  elector.addDuty('integration-health', integrationDuties.health);
  elector.addDuty('recovery-worker', integrationDuties.recovery);
  elector.addDuty('membership-housekeeping', (ctx) =>
    membershipHousekeeping(ctx, { connection, keys, intervalMs: config.membership.heartbeatIntervalMs, logger }),
  );
  // Registrations the gateway and agent users could not give a TTL (register-run-1.lua) get one here once
  // they are a minute old; the cursor starts over with each new leader (one pass over the index).
  elector.addDuty('registration-expiry', async (ctx) => {
    let cursor = Number.NEGATIVE_INFINITY;
    while (!ctx.signal.aborted) {
      try {
        const step = await store.expireUnattended(cursor, Date.now() - UNATTENDED_AFTER_MS, 500);
        cursor = step.cursor;
        if (step.expired > 0) logger.debug({ expired: step.expired }, 'gave registrations without events a TTL');
        if (step.seen >= 500) continue;
      } catch (err) {
        if (!isAborted(ctx.signal)) logger.warn({ err }, 'registration expiry sweep failed');
      }
      await sleepUnlessAborted(UNATTENDED_SWEEP_MS, ctx.signal);
    }
  });
  const heartbeat = new MemberHeartbeat({
    connection,
    keys,
    role: 'bridge',
    id,
    intervalMs: config.membership.heartbeatIntervalMs,
    ttlMs: config.membership.heartbeatTtlMs,
    info: () => ({
      workersRunning: router.getStatus().state === 'running',
      leader: elector.isLeader,
      [PUBSUB_MODE_FIELD]: publisher.currentMode,
    }),
    logger,
  });
  elector.onChange(() => void heartbeat.beatNow());

  // Close does not wait for a start stuck on Redis: SIGTERM must still stop the replica.
  const lifecycle = new Lifecycle({ closeWaitsForStart: false });

  const replica: Replica = {
    id,
    elector,
    integration,
    router,
    start() {
      // Not idempotent on purpose: a replica is started once, by its process.
      if (lifecycle.state !== 'idle') throw new IllegalStateError(lifecycle.state, 'start');
      return lifecycle.start(async () => {
        const report = await checkRedis(connection, config);
        for (const w of report.warnings) logger.warn({ warning: w }, 'redis configuration');
        const mode = choosePubSubMode(config.redis.pubsubMode, report.topology);
        await checkPubSubAgreement(connection, keys, mode, id);
        publisher.useMode(mode);
        const redis = describeTopology(report.topology);
        logger.info({ pubsubMode: mode, redis }, `redis ${redis}; live events over ${mode} Pub/Sub`);
        await router.start();
        await heartbeat.start();
        await integration.start();
        // Lock masters do not queue commands: a first vote on a connection still opening would be wasted.
        await Promise.all(lockClients.map((c) => waitUntilReady(c, config.redis.connectTimeoutMs)));
        await elector.start();
      });
    },
    close() {
      return lifecycle.close(() =>
        closeAll(
          [
            ['leaderless watch', () => integration.quiesce()],
            // Hand leadership over first: standbys take over while this replica drains its events.
            ['elector', () => elector.close()],
            ['router', () => router.close()],
            ['heartbeat', () => heartbeat.close()],
            // After leaving: if no replica is left, say so (UNINITIALIZED, "cluster stopped").
            ['cluster stopped', () => integration.markStoppedIfLast()],
            ['integration', () => integration.close()],
            [
              'connections',
              () => Promise.all([connection, subscriber, workerConnection, ...lockClients].map(closeRedis)),
            ],
          ],
          (err, step) => logger.error({ err, step }, 'replica close step failed'),
        ),
      );
    },
    async getStatus() {
      const [rec, published] = await Promise.all([
        elector.currentLeader().catch(() => null),
        integration.reader.current().catch(() => null),
      ]);
      const s = integration.getStatus();
      return {
        id,
        state: lifecycle.state,
        leader: { ...elector.getStatus(), currentLeaderId: rec?.id ?? null, currentEpoch: rec?.epoch ?? null },
        integration: published,
        ensureAttempts: s.ensureAttempts,
        healthChecks: s.healthChecks,
        router: router.getStatus(),
      };
    },
    async isReady() {
      if (lifecycle.state !== 'running' || router.getStatus().state !== 'running') return false;
      try {
        // ping() resolves PONG or rejects: the answer needs no check.
        await connection.ping();
        return true;
      } catch {
        return false;
      }
    },
  };
  return replica;
}
