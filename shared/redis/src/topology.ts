import type { AppConfig } from '@agent-bridge/config';
import { AgentBridgeError, ErrorCode } from '@agent-bridge/protocol';
import { Cluster, type Redis } from 'ioredis';
import { type RedisConnection, waitUntilReady } from './connections';
import { infoField } from './info';

/** One master as its own `INFO` describes it. */
export interface RedisMasterInfo {
  /** `host:port` the client reaches it at. */
  address: string;
  version: string;
  /** `redis_mode` (standalone | cluster). */
  redisMode: string;
  /** Null when INFO hides it (some managed services); the startup check then asks CONFIG GET. */
  maxmemoryPolicy: string | null;
  /** Append-only file on; null when INFO hides it. */
  aof: boolean | null;
  /** Replicas the master reports (`ip:port`, INFO replication). */
  replicas: string[];
  /** Cluster: hash slots this master serves in the client's slot map; null outside a Cluster. */
  slots: number | null;
}

/** The Redis deployment a connection reaches: every master (one, or each of a Cluster) and its replicas. */
export interface RedisTopology {
  mode: AppConfig['redis']['mode'];
  masters: RedisMasterInfo[];
  /** Configured Sentinels (REDIS_MODE=sentinel) and the master name they watch. */
  sentinels: string[];
  sentinelName: string | null;
  /** Cluster: hash slots served by a known master, of 16384 (full coverage = 16384); null outside a Cluster. */
  slotsCovered: number | null;
}

/** Hash slots of a Redis Cluster. */
const CLUSTER_SLOTS = 16_384;

/** Slots per master address in a Cluster client's slot map (its first node of a slot is the master). */
function slotCounts(conn: Cluster): Map<string, number> {
  const counts = new Map<string, number>();
  // The slot map is sparse (a slot no master serves is a hole, which for-of yields as undefined); its
  // type says every slot has nodes.
  const slots: readonly (readonly string[] | undefined)[] = conn.slots;
  for (const nodes of slots) {
    const master = nodes?.[0];
    if (master !== undefined) counts.set(master, (counts.get(master) ?? 0) + 1);
  }
  return counts;
}

/** Redis is reachable but not fit for agent-bridge (old version, evicting keys, Cluster masters unknown). */
export class RedisSetupError extends AgentBridgeError {
  constructor(message: string) {
    super(ErrorCode.Unavailable, message);
  }
}

interface MasterNode {
  address: string;
  node: Redis;
}

/**
 * `host:port` of one server connection, as its options name it. ioredis fills in its defaults (localhost,
 * 6379) when it builds the options, so the two are always set at run time; its type keeps them optional.
 */
export function nodeAddress(node: Redis): string {
  return `${node.options.host ?? 'localhost'}:${node.options.port ?? 6379}`;
}

/** The master servers behind `conn`: every master of a Cluster, else the server the connection talks to. */
async function masterNodes(conn: RedisConnection, config: AppConfig): Promise<MasterNode[]> {
  if (conn instanceof Cluster) {
    // The masters are known once the client has loaded the slot map.
    await waitUntilReady(conn, config.redis.connectTimeoutMs);
    const masters = conn.nodes('master');
    if (masters.length === 0) {
      throw new RedisSetupError(`no Redis Cluster master known via ${config.redis.clusterNodes.join(', ')}`);
    }
    return masters
      .map((node) => ({ address: nodeAddress(node), node }))
      .sort((a, b) => a.address.localeCompare(b.address));
  }
  // Sentinel: the address the Sentinels resolved, read from the socket once connected.
  await waitUntilReady(conn, config.redis.connectTimeoutMs);
  const stream = (conn as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  const address =
    stream?.remoteAddress !== undefined && stream.remotePort !== undefined
      ? `${stream.remoteAddress}:${stream.remotePort}`
      : nodeAddress(conn);
  return [{ address, node: conn }];
}

/** `slaveN:ip=…,port=…` lines of INFO replication. */
function replicasOf(info: string): string[] {
  const out: string[] = [];
  for (const m of info.matchAll(/^slave\d+:(.*)$/gm)) {
    const fields = new Map((m[1] ?? '').split(',').map((kv) => kv.trim().split('=') as [string, string]));
    const ip = fields.get('ip');
    const port = fields.get('port');
    if (ip !== undefined) out.push(`${ip}:${port ?? '?'}`);
  }
  return out;
}

async function describeMaster({ address, node }: MasterNode, slots: number | null): Promise<RedisMasterInfo> {
  // Plain INFO: server, memory, persistence and replication in one round trip (every role's ACL allows it).
  const info = await node.info();
  const aof = infoField(info, 'aof_enabled');
  return {
    address,
    version: infoField(info, 'redis_version') ?? 'unknown',
    redisMode: infoField(info, 'redis_mode') ?? 'unknown',
    maxmemoryPolicy: infoField(info, 'maxmemory_policy'),
    aof: aof === null ? null : aof === '1',
    replicas: replicasOf(info),
    slots,
  };
}

/** Reads the topology behind `conn` (one INFO per master). */
export async function readTopology(conn: RedisConnection, config: AppConfig): Promise<RedisTopology> {
  const nodes = await masterNodes(conn, config);
  const counts = conn instanceof Cluster ? slotCounts(conn) : null;
  const masters = await Promise.all(nodes.map((n) => describeMaster(n, counts ? (counts.get(n.address) ?? 0) : null)));
  const sentinel = config.redis.mode === 'sentinel';
  return {
    mode: config.redis.mode,
    masters,
    sentinels: sentinel ? config.redis.sentinels : [],
    sentinelName: sentinel ? config.redis.sentinelName : null,
    slotsCovered: counts ? [...counts.values()].reduce((a, b) => a + b, 0) : null,
  };
}

/** One line for banners and logs: `cluster: 3 masters (…), 3 replicas`. */
export function describeTopology(t: RedisTopology): string {
  const replicas = t.masters.reduce((n, m) => n + m.replicas.length, 0);
  const masters = `${t.masters.length} master${t.masters.length === 1 ? '' : 's'} (${t.masters.map((m) => m.address).join(', ')})`;
  const sentinels =
    t.mode === 'sentinel' && t.sentinelName !== null
      ? `, ${t.sentinels.length} sentinels watching "${t.sentinelName}"`
      : '';
  const slots = t.slotsCovered === null ? '' : `, ${t.slotsCovered}/${CLUSTER_SLOTS} slots covered`;
  return `${t.mode}: ${masters}, ${replicas} replica${replicas === 1 ? '' : 's'}${sentinels}${slots}`;
}
