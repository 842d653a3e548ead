import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { AppConfig } from '@agent-bridge/config';
import {
  type ClientToServerEvents,
  IllegalStateError,
  type InterServerEvents,
  type KeyLayout,
  type PubSubMode,
  type ServerToClientEvents,
  keyLayout,
} from '@agent-bridge/protocol';
import {
  MemberHeartbeat,
  PUBSUB_MODE_FIELD,
  type RedisConnection,
  checkPubSubAgreement,
  closeRedis,
  createRedis,
  describeTopology,
  resolvePubSubMode,
} from '@agent-bridge/redis';
import { type CloseStep, Lifecycle, type LifecycleState, closeAll } from '@agent-bridge/runtime';
import { DeliveryStats, type Logger } from '@agent-bridge/telemetry';
import { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { Server } from 'socket.io';
import { TokenVerifier } from '@agent-bridge/auth';
import { ClientSockets, type GatewayServer, type SocketData } from './client-sockets';
import { installHttpRoutes } from './http-routes';
import { ClientLimits } from './limits/client-limits';
import { ConnectionCounter } from './limits/connection-counter';
import { LiveRooms } from './live-rooms';
import { originAllowed } from './origin';
import { logRedisErrors } from './redis-errors';
import { AdapterResync, type ResyncStatus } from './resync';
import { RunRequests } from './run-requests';
import { SubscriberLiveness } from './subscriber-liveness';
import { SubscriptionLinks } from './subscription-links';

/** Lifecycle of a {@link Gateway}. */
export type GatewayState = LifecycleState;

/** What `/readyz` and the membership record report. */
export interface GatewayStatus {
  state: GatewayState;
  id: string;
  port: number | null;
  sockets: number;
  redis: { command: string; pub: string; sub: string };
  /** The adapter subscription and its catch-ups (see `resync.ts`). */
  subscription: ResyncStatus;
  /** Pub/Sub mode of the adapter (null before start). */
  pubsubMode: PubSubMode | null;
  ready: boolean;
}

/** Options of a gateway beyond its configuration. */
export interface GatewayOptions {
  /** Folder served at `/` when `config.gateway.chatPage`. @defaultValue `services/gateway/public` */
  publicDir?: string;
  /** Address to listen on. @defaultValue `0.0.0.0` */
  host?: string;
}

/** Directory of the static chat page (same relative place from `src/` and `dist/`). */
const DEFAULT_PUBLIC_DIR = join(__dirname, '..', 'public');

/**
 * A Socket.IO gateway node: authenticates clients (JWT in the handshake), replays run history on
 * `subscribe` and delivers live events through `@socket.io/redis-adapter`, accepts `start_run` /
 * `cancel_run`, answers the leader's end-to-end probe and keeps its membership record alive.
 *
 * Guarantees: a subscriber joins the run's room before history is read, so no committed event falls
 * between the replay and the live stream (the client SDK dedupes the overlap by seq). Bad input from a
 * client (invalid, oversized, flood, forbidden) gets an error ack or a refused connection and never
 * affects other sockets. Create it with {@link createGateway}; `start()` and `close()` are idempotent.
 */
export class Gateway {
  private readonly lifecycle = new Lifecycle();
  private readonly keys: KeyLayout;
  readonly id: string;
  private readonly command: RedisConnection;
  private readonly pub: RedisConnection;
  private readonly sub: RedisConnection;
  private runsQueue: Queue | null = null;
  private readonly limits: ClientLimits;
  private readonly connections: ConnectionCounter;
  private readonly runs: RunRequests;
  private readonly app: FastifyInstance;
  private readonly io: GatewayServer;
  private readonly heartbeat: MemberHeartbeat;
  /** Live deliveries and their latency, published on each heartbeat for the ops service's charts. */
  private readonly delivery = new DeliveryStats();
  private readonly resync: AdapterResync;
  private readonly liveness: SubscriberLiveness;
  private readonly sockets: ClientSockets;
  private boundPort: number | null = null;
  private rooms: LiveRooms | null = null;
  private links: SubscriptionLinks | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly logger: Logger,
    private readonly options: GatewayOptions = {},
  ) {
    this.keys = keyLayout(config.keyPrefix);
    this.id = config.instanceId;
    this.command = createRedis(config, 'command', { name: `gateway:${this.id}:command`, lazyConnect: true });
    this.pub = createRedis(config, 'worker', { name: `gateway:${this.id}:pub`, lazyConnect: true });
    // A Cluster's sharded subscribers need one connection per master, opened by this client when asked for;
    // the mode is only known at start, so the client is set up for it unless classic is forced.
    this.sub = createRedis(config, 'subscriber', {
      name: `gateway:${this.id}:sub`,
      lazyConnect: true,
      shardedSubscribers: config.redis.pubsubMode !== 'classic',
    });
    // Kept for the process's life: errors may still come while the connections close.
    logRedisErrors(this.command, 'command', logger);
    logRedisErrors(this.pub, 'adapter-pub', logger);
    logRedisErrors(this.sub, 'adapter-sub', logger);
    this.limits = new ClientLimits(config, this.command, this.keys, logger);
    this.connections = new ConnectionCounter({
      connection: this.command,
      keys: this.keys,
      gatewayId: this.id,
      userLimit: config.limits.userConnections,
      ipLimit: config.limits.ipConnections,
      refreshIntervalMs: config.membership.heartbeatIntervalMs,
      ttlMs: config.membership.heartbeatTtlMs,
      logger,
    });
    this.app = Fastify({ logger: false });
    this.io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(this.app.server, {
      maxHttpBufferSize: config.gateway.maxMessageBytes,
      allowRequest: (req, callback) => {
        const origin = req.headers.origin;
        // Browsers always send Origin on WebSocket and cross-origin requests; non-browser clients (Node SDK,
        // agents' tools) send none and are authenticated by their token alone.
        if (origin === undefined || originAllowed(origin, config.gateway.corsOrigins)) callback(null, true);
        else {
          this.logger.warn({ origin }, 'refused connection from an origin outside the allowlist');
          callback('origin not allowed', false);
        }
      },
      cors: {
        origin: (origin, callback) =>
          callback(null, origin === undefined || originAllowed(origin, config.gateway.corsOrigins)),
        credentials: true,
      },
    });
    this.heartbeat = new MemberHeartbeat({
      connection: this.command,
      keys: this.keys,
      role: 'gateway',
      id: this.id,
      intervalMs: config.membership.heartbeatIntervalMs,
      ttlMs: config.membership.heartbeatTtlMs,
      info: () => ({
        sockets: this.io.engine.clientsCount,
        port: this.boundPort,
        delivery: this.delivery.snapshot(),
        [PUBSUB_MODE_FIELD]: this.rooms?.mode ?? null,
      }),
      logger,
    });
    this.resync = new AdapterResync({
      io: this.io,
      command: this.command,
      keys: this.keys,
      pageSize: config.events.replayPageSize,
      enabled: config.gateway.resync,
      logger,
    });
    this.runs = new RunRequests({
      config,
      command: this.command,
      keys: this.keys,
      limits: this.limits,
      resync: this.resync,
      runsQueue: () => this.runsQueue,
      rooms: () => this.liveRooms(),
    });
    this.liveness = new SubscriberLiveness({
      // Before start: no links, nothing to check.
      connections: () => this.links?.connections() ?? [],
      intervalMs: config.gateway.subscriberPingIntervalMs,
      timeoutMs: config.gateway.subscriberPingTimeoutMs,
      onStall: () => this.resync.lost('stalled'),
      logger,
    });
    this.sockets = new ClientSockets({
      config,
      verifier: new TokenVerifier(config.auth),
      limits: this.limits,
      connections: this.connections,
      runs: this.runs,
      resync: this.resync,
      delivery: this.delivery,
      logger,
    });
  }

  /** The port the HTTP/Socket.IO server listens on (the real one when configured as 0). */
  get port(): number {
    if (this.boundPort === null) throw new IllegalStateError(this.lifecycle.state, 'read the port');
    return this.boundPort;
  }

  /** Connects to Redis, installs the adapter and handlers, listens, joins the membership. Idempotent. */
  start(): Promise<void> {
    return this.lifecycle.start(() => this.doStart());
  }

  private async doStart(): Promise<void> {
    await Promise.all([this.command.connect(), this.pub.connect(), this.sub.connect()]);
    // Created after connecting: BullMQ would otherwise connect the shared lazy connection itself.
    this.runsQueue = new Queue(this.config.queues.runs, { connection: this.command, prefix: this.keys.bullPrefix });
    // Bridges publish in the mode every process derives from the same masters (AB_PUBSUB_MODE, Redis ≥ 7);
    // a live member in the other mode means live events would reach nobody: refuse to start.
    const { mode, topology } = await resolvePubSubMode(this.command, this.config);
    await checkPubSubAgreement(this.command, this.keys, mode, this.id);
    this.rooms = new LiveRooms(mode, this.keys, this.sub);
    this.rooms.install(this.io, this.pub);
    const redis = describeTopology(topology);
    this.logger.info({ pubsubMode: mode, redis }, `redis ${redis}; live events over ${mode} Pub/Sub`);
    this.links = new SubscriptionLinks(this.sub, this.rooms, this.logger);
    this.resync.start(this.links);
    this.liveness.start();
    this.sockets.install(this.io);
    this.io.on('probe', ({ probeId, replyChannel }) => {
      this.command.publish(replyChannel, this.id).catch((err: unknown) => {
        this.logger.warn({ err, probeId }, 'could not answer the end-to-end probe');
      });
    });
    await installHttpRoutes(this.app, {
      config: this.config,
      limits: this.limits,
      state: () => this.lifecycle.state,
      status: () => this.getStatus(),
      publicDir: this.options.publicDir ?? DEFAULT_PUBLIC_DIR,
    });
    this.connections.start();
    const address = await this.app.listen({
      port: this.config.port ?? this.config.gateway.port,
      host: this.options.host ?? '0.0.0.0',
    });
    this.boundPort = (this.app.server.address() as AddressInfo).port;
    this.logger.debug({ address }, 'gateway listening');
    await this.heartbeat.start();
  }

  private liveRooms(): LiveRooms {
    if (!this.rooms) throw new IllegalStateError(this.lifecycle.state, 'serve run rooms');
    return this.rooms;
  }

  /** Current state, for `/readyz` and tests. Ready means running with Redis and the adapter connected. */
  getStatus(): GatewayStatus {
    const redis = { command: this.command.status, pub: this.pub.status, sub: this.sub.status };
    const subscription = this.resync.getStatus();
    const state = this.lifecycle.state;
    return {
      state,
      id: this.id,
      port: this.boundPort,
      sockets: this.io.engine.clientsCount,
      redis,
      subscription,
      pubsubMode: this.rooms?.mode ?? null,
      ready: state === 'running' && Object.values(redis).every((s) => s === 'ready') && subscription.state !== 'lost',
    };
  }

  /**
   * Graceful shutdown: leaves the membership, disconnects every client (so the client SDK reconnects to
   * another gateway and resumes), stops listening and closes the Redis connections it opened. Every step
   * runs even if an earlier one fails. Idempotent.
   */
  close(): Promise<void> {
    return this.lifecycle.close((was) => this.doClose(was));
  }

  private async doClose(was: GatewayState): Promise<void> {
    const steps: CloseStep[] = [
      ['membership', () => this.heartbeat.close()],
      ['connection counts', () => this.connections.close()],
      ['sockets', () => this.io.disconnectSockets(true)],
      ['socket.io', () => new Promise<void>((resolve) => void this.io.close(() => resolve()))],
      ['http', () => (was === 'idle' ? undefined : this.app.close())],
      ['queue', () => this.runsQueue?.close()],
      [
        'resync',
        () => {
          this.liveness.close();
          this.resync.close();
        },
      ],
      ['redis', () => Promise.all([closeRedis(this.command), closeRedis(this.pub), closeRedis(this.sub)])],
    ];
    await closeAll(steps, (err, step) => this.logger.warn({ err, step }, 'gateway close step failed'));
  }
}

/** Creates a gateway (not started yet). */
export function createGateway(config: AppConfig, logger: Logger, options?: GatewayOptions): Gateway {
  return new Gateway(config, logger, options);
}
