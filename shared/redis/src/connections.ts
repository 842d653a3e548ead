import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { AppConfig } from '@agent-bridge/config';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { NewestMasterConnector } from './sentinel-connector';

/** A connection to the data Redis: a standalone/Sentinel client or a Cluster client. */
export type RedisConnection = Redis | Cluster;

/**
 * What a connection is for; each role gets the options it needs.
 * - `worker`: BullMQ Worker / blocking commands / Socket.IO adapter — retries forever
 *   (`maxRetriesPerRequest: null`, as BullMQ requires).
 * - `subscriber`: Pub/Sub — retries forever, resubscribes after reconnects.
 * - `command`: request/response work (BullMQ Queue, Lua scripts) — fails fast so callers see errors.
 */
export type RedisRole = 'worker' | 'subscriber' | 'command';

export interface CreateRedisOptions {
  /** Connection name shown in `CLIENT LIST` (helps ops find who is connected). */
  name?: string;
  /** Connect to this URL instead of the configured data Redis (standalone only; lock masters). */
  url?: string;
  /** Do not connect until the first command. @defaultValue false */
  lazyConnect?: boolean;
  /**
   * Reconnect after a lost or refused connection (forever, with capped backoff). One-shot tools may turn it
   * off to fail at once. @defaultValue true
   */
  reconnect?: boolean;
  /**
   * Queue commands while disconnected (ioredis' offline queue). Off, a command on a connection that is down
   * fails at once instead of waiting for a reconnect or its timeout. @defaultValue true
   */
  offlineQueue?: boolean;
  /**
   * Cluster only: SSUBSCRIBE through one subscriber connection per master (ioredis `shardedSubscribers`),
   * each taking the channels of that master's slots. Needed by a sharded Pub/Sub subscriber; otherwise an
   * idle connection per master. @defaultValue false
   */
  shardedSubscribers?: boolean;
}

function retryStrategy(times: number): number {
  // Reconnect quickly at first, then every 2 s at most, forever: Redis restarts must be survivable.
  return Math.min(50 * 2 ** Math.min(times, 6), 2_000);
}

function roleOptions(config: AppConfig, role: RedisRole): RedisOptions {
  const base: RedisOptions = {
    connectTimeout: config.redis.connectTimeoutMs,
    retryStrategy,
    enableReadyCheck: true,
    // A replica that became master after failover answers READONLY until the client reconnects.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  if (role === 'command') {
    return { ...base, maxRetriesPerRequest: 2, commandTimeout: config.redis.commandTimeoutMs };
  }
  return { ...base, maxRetriesPerRequest: null };
}

function tlsOptions(config: AppConfig, hostname: string): RedisOptions['tls'] {
  // SNI takes host names only (RFC 6066); an IP address is verified against the certificate's IP SANs.
  const sni = isIP(hostname) === 0 ? { servername: hostname } : {};
  const ca = config.redis.tlsCaFile;
  return ca === undefined ? sni : { ...sni, ca: readFileSync(ca) };
}

function urlOptions(url: string, config: AppConfig): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number.isFinite(db) ? db : 0,
    tls: u.protocol === 'rediss:' ? tlsOptions(config, u.hostname) : undefined,
  };
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/**
 * Opens a connection to the data Redis (standalone URL with TLS/ACL, Sentinel or Cluster, as configured)
 * with the options `role` needs. The caller owns the connection and must close it (`quit()`).
 */
export function createRedis(config: AppConfig, role: RedisRole, options: CreateRedisOptions = {}): RedisConnection {
  const common: RedisOptions = {
    ...roleOptions(config, role),
    connectionName: options.name,
    lazyConnect: options.lazyConnect ?? false,
    ...(options.reconnect === false ? { retryStrategy: () => null } : {}),
    ...(options.offlineQueue === false ? { enableOfflineQueue: false } : {}),
  };
  if (options.url !== undefined || config.redis.mode === 'standalone') {
    return new Redis({ ...common, ...urlOptions(options.url ?? config.redis.url, config) });
  }
  // Credentials and TLS of REDIS_URL apply to the nodes of a Sentinel or Cluster deployment too.
  const { username, password, tls } = urlOptions(config.redis.url, config);
  if (config.redis.mode === 'sentinel') {
    return new Redis({
      ...common,
      sentinels: config.redis.sentinels.map(hostPort),
      name: config.redis.sentinelName,
      username,
      password,
      tls,
      sentinelPassword: password,
      // Subscribe to the sentinels' +switch-master and drop the connection at once: without it a client
      // keeps writing to the demoted master until that one is reconfigured (~10 s), writes that are lost.
      failoverDetector: true,
      // ...and reconnect to the master of the newest Sentinel configuration, never a lagging Sentinel's.
      Connector: NewestMasterConnector,
    });
  }
  const clusterOptions: ClusterOptions = {
    redisOptions: { ...common, username, password, tls },
    clusterRetryStrategy: retryStrategy,
    enableReadyCheck: true,
    lazyConnect: options.lazyConnect ?? false,
    // BullMQ workers block: never cap retries of queued commands.
    maxRedirections: 16,
    shardedSubscribers: options.shardedSubscribers ?? false,
  };
  return new Cluster(config.redis.clusterNodes.map(hostPort), clusterOptions);
}

/**
 * Connections to the independent masters of the leader lease (REDIS_LOCK_URLS), or one connection to the
 * data Redis when none are configured. The caller closes them.
 *
 * A master that is down must vote "unreachable" at once: queued until a reconnect or the command timeout
 * (5 s), its vote would outlast the lease client's wait and a lost quorum would be reported as a lease
 * held by another replica.
 */
export function createLockClients(config: AppConfig, name = 'lock'): RedisConnection[] {
  if (config.redis.lockUrls.length === 0) return [createRedis(config, 'command', { name })];
  return config.redis.lockUrls.map((url) => createRedis(config, 'command', { name, url, offlineQueue: false }));
}

/**
 * Resolves true once `conn` is ready, false after `timeoutMs` (or when it ends first). Never throws: for
 * connections that do not queue commands, to avoid spending a first attempt on a connection still opening.
 */
export async function waitUntilReady(conn: RedisConnection, timeoutMs: number): Promise<boolean> {
  if (conn.status === 'ready') return true;
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  let onEnd: (() => void) | undefined;
  try {
    return await new Promise<boolean>((resolve) => {
      onReady = () => resolve(true);
      onEnd = () => resolve(false);
      conn.once('ready', onReady);
      conn.once('end', onEnd);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    if (onReady) conn.off('ready', onReady);
    if (onEnd) conn.off('end', onEnd);
  }
}

/** Closes a connection: QUIT when it answers, disconnect otherwise. Never throws. */
export async function closeRedis(conn: RedisConnection): Promise<void> {
  if (conn.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      conn.quit(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('quit timeout')), 1_000);
      }),
    ]);
  } catch {
    conn.disconnect();
  } finally {
    clearTimeout(timer);
    // QUIT leaves the connector alone: in Sentinel mode its failoverDetector keeps a subscriber connection
    // to every Sentinel (reconnecting forever). disconnect() after the end closes them; a no-op otherwise.
    if (conn instanceof Redis) conn.disconnect();
  }
}
