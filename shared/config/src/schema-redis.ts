import { z } from 'zod';
import { bool, int, list, redisUrl, setting } from './setting';

const hostPort = z.string().regex(/^[^:\s]+:\d{1,5}$/, 'host:port');

/** The data Redis and the lock masters: topology, connection, timeouts, TLS and the startup checks. */
export const redisDefinition = {
  url: setting({
    env: 'REDIS_URL',
    schema: redisUrl(),
    default: 'redis://127.0.0.1:6379',
    description: 'Data Redis (standalone). redis:// or rediss:// (TLS), with optional ACL user:password and /db.',
    secret: 'url',
  }),
  mode: setting({
    env: 'REDIS_MODE',
    schema: z.enum(['standalone', 'cluster', 'sentinel']),
    default: 'standalone',
    description: 'standalone: REDIS_URL. cluster: REDIS_CLUSTER_NODES. sentinel: REDIS_SENTINELS + name.',
  }),
  clusterNodes: setting({
    env: 'REDIS_CLUSTER_NODES',
    schema: list(hostPort),
    default: [],
    description: 'Seed nodes (host:port, comma-separated) of a Redis Cluster, for REDIS_MODE=cluster.',
  }),
  sentinels: setting({
    env: 'REDIS_SENTINELS',
    schema: list(hostPort),
    default: [],
    description: 'Sentinels (host:port, comma-separated), for REDIS_MODE=sentinel.',
  }),
  sentinelName: setting({
    env: 'REDIS_SENTINEL_NAME',
    schema: z.string().min(1),
    default: 'mymaster',
    description: 'Name of the master the sentinels watch.',
  }),
  lockUrls: setting({
    env: 'REDIS_LOCK_URLS',
    schema: list(redisUrl()),
    default: [],
    description:
      'Independent Redis masters for the leader lease (Redlock quorum). Empty: the lease lives in REDIS_URL.',
    secret: 'url',
  }),
  connectTimeoutMs: setting({
    env: 'REDIS_CONNECT_TIMEOUT_MS',
    schema: int(100, 600_000),
    default: 5_000,
    description: 'Timeout of one connection attempt.',
  }),
  commandTimeoutMs: setting({
    env: 'REDIS_COMMAND_TIMEOUT_MS',
    schema: int(100, 600_000),
    default: 5_000,
    description: 'Timeout of one command on fail-fast (producer / request) connections.',
  }),
  waitReplicas: setting({
    env: 'REDIS_WAIT_REPLICAS',
    schema: int(0, 16),
    default: 0,
    description:
      'Producers (agent SDK) acknowledge a run registration or an emit only once this many replicas hold it ' +
      '(Redis WAIT); otherwise the write is retried. 1 with Sentinel, so a failover cannot lose an acknowledged ' +
      'event (docs/decisions/0005). 0: acknowledge on the master alone.',
  }),
  waitTimeoutMs: setting({
    env: 'REDIS_WAIT_TIMEOUT_MS',
    schema: int(10, 60_000),
    default: 1_000,
    description: 'How long a producer waits for REDIS_WAIT_REPLICAS replicas before it retries the write.',
  }),
  tlsCaFile: setting({
    env: 'REDIS_TLS_CA_FILE',
    schema: z.string().min(1).optional(),
    description: 'PEM file of the CA that signed the Redis server certificate (rediss:// with a private CA).',
  }),
  requireNoeviction: setting({
    env: 'REDIS_REQUIRE_NOEVICTION',
    schema: bool(),
    default: true,
    description: 'Refuse to start when maxmemory-policy is not noeviction (BullMQ needs it); false only warns.',
  }),
  pubsubMode: setting({
    env: 'AB_PUBSUB_MODE',
    schema: z.enum(['auto', 'sharded', 'classic']),
    default: 'auto',
    description:
      'Live delivery channel. sharded: SPUBLISH on a channel in the hash slot of the run and the sharded ' +
      'Socket.IO adapter (SSUBSCRIBE), so a Cluster master only carries the messages of its own runs; needs ' +
      'Redis ≥ 7 on every master. classic: PUBLISH/PSUBSCRIBE (a Cluster forwards every message to every ' +
      'node). auto: sharded when every master is Redis ≥ 7, else classic. Bridges and gateways must ' +
      'agree: a process refuses to start while a live member uses the other mode.',
  }),
};
