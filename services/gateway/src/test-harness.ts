/**
 * Test helpers of the gateway tests (not exported from the package): one redis-server per test file,
 * gateways on a unique key prefix that are closed after each test, Socket.IO clients that are disconnected
 * after each test, and a peer on the Socket.IO Redis channel as another server would be.
 */
import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type PubSubMode, keyLayout, runRoom } from '@agent-bridge/protocol';
import { type RedisServer, destroyAllRedis, startRedis } from '@agent-bridge/testing';
import { silentLogger } from '@agent-bridge/telemetry';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { Emitter } from '@socket.io/redis-emitter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { type Socket, io as ioClient } from 'socket.io-client';
import { type Gateway, type GatewayOptions, createGateway } from './index';

/** A peer on the Socket.IO Redis channel: emits to a run's room, or to every server. */
export interface AdapterPeer {
  toRun: (runId: string, event: string, data: unknown) => void;
  serverSideEmit: (event: string, data: unknown) => void;
  close: () => void;
}

export interface GatewayHarness {
  /** This file's redis-server (set in beforeAll). */
  readonly redis: RedisServer;
  /** A plain connection to it, to arrange and inspect keys. */
  readonly admin: Redis;
  /** Config on a unique key prefix and instance id, port 0, fast heartbeats; `overrides` are env names. */
  testConfig(overrides?: Record<string, string | number | boolean>): AppConfig;
  /** A started gateway on 127.0.0.1, closed after the test. */
  startGateway(config: AppConfig, options?: Omit<GatewayOptions, 'host'>): Promise<Gateway>;
  /** A websocket client of `gw` (no reconnection), disconnected after the test. */
  client(gw: Gateway, auth: Record<string, unknown>, extra?: Record<string, unknown>): Socket;
  /** Registers a running run of `owner` as the agent SDK does. */
  registerRun(config: AppConfig, runId: string, owner: string): Promise<void>;
  /**
   * A peer on the Socket.IO Redis channel in `mode`, as another server would be: classic through
   * `@socket.io/redis-emitter`, sharded through a Socket.IO server with the real sharded adapter.
   */
  adapterPeer(config: AppConfig, mode: PubSubMode): Promise<AdapterPeer>;
}

/** Registers the Jest hooks of a gateway test file and returns its helpers. */
export function useGatewayHarness(): GatewayHarness {
  let redis: RedisServer | undefined;
  let admin: Redis | undefined;
  const started: Gateway[] = [];
  const clients: Socket[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.port, '127.0.0.1', { lazyConnect: false });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await Promise.all(started.splice(0).map((g) => g.close()));
  });
  afterAll(async () => {
    admin?.disconnect();
    await destroyAllRedis();
  });

  const server = (): RedisServer => {
    if (!redis) throw new Error('the gateway harness is used before its beforeAll ran');
    return redis;
  };
  const connection = (): Redis => {
    if (!admin) throw new Error('the gateway harness is used before its beforeAll ran');
    return admin;
  };

  return {
    get redis() {
      return server();
    },
    get admin() {
      return connection();
    },
    testConfig(overrides = {}) {
      return loadConfig({
        env: {},
        overrides: {
          REDIS_URL: server().url,
          AB_KEY_PREFIX: `gwtest-${randomUUID().slice(0, 8)}`,
          AB_INSTANCE_ID: `gw-${randomUUID().slice(0, 8)}`,
          PORT: 0,
          AB_HEARTBEAT_INTERVAL_MS: 200,
          AB_HEARTBEAT_TTL_MS: 2_000,
          ...overrides,
        },
      });
    },
    async startGateway(config, options = {}) {
      const gw = createGateway(config, silentLogger(), { ...options, host: '127.0.0.1' });
      started.push(gw);
      await gw.start();
      return gw;
    },
    client(gw, auth, extra = {}) {
      const s = ioClient(`http://127.0.0.1:${gw.port}`, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth,
        ...extra,
      });
      clients.push(s);
      return s;
    },
    async registerRun(config, runId, owner) {
      const now = Date.now();
      await connection().hset(keyLayout(config.keyPrefix).runMeta(runId), {
        runId,
        owner,
        agent: 'test',
        status: 'running',
        createdAt: now,
        updatedAt: now,
        headSeq: 0,
        cancelRequested: '0',
      });
    },
    async adapterPeer(config, mode) {
      const key = keyLayout(config.keyPrefix).socketIoKey;
      if (mode === 'classic') {
        const emitter = new Emitter(connection(), { key });
        return {
          toRun: (runId, event, data) => {
            emitter.to(runRoom(runId, mode)).emit(event, data);
          },
          serverSideEmit: (event, data) => {
            emitter.serverSideEmit(event, data);
          },
          close: () => undefined,
        };
      }
      const sub = new Redis(server().port, '127.0.0.1');
      const io = new Server();
      io.adapter(createShardedAdapter(connection(), sub, { channelPrefix: key }));
      await sub.ping(); // answered after the adapter's SSUBSCRIBEs
      return {
        toRun: (runId, event, data) => {
          io.to(runRoom(runId, mode)).emit(event, data);
        },
        serverSideEmit: (event, data) => {
          io.serverSideEmit(event, data);
        },
        close: () => sub.disconnect(),
      };
    },
  };
}

/** Resolves 'connected' or the connect_error's data/message. */
export function outcome(s: Socket): Promise<{ connected: boolean; data?: unknown; message?: string }> {
  return new Promise((resolve) => {
    s.once('connect', () => resolve({ connected: true }));
    s.once('connect_error', (err: Error & { data?: unknown }) =>
      resolve({ connected: false, data: err.data, message: err.message }),
    );
  });
}
