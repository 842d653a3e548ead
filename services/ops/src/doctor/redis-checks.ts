import type { AppConfig } from '@agent-bridge/config';
import { MIN_REDIS_VERSION, type RedisConnection, infoField, nodeAddress, versionAtLeast } from '@agent-bridge/redis';
import type { Finding } from './doctor';

/** One Redis server the doctor reads INFO from (every master of a Cluster). */
export interface RedisNode {
  label: string;
  info(): Promise<string>;
  /** `CLUSTER INFO` as this node sees it. */
  clusterInfo(): Promise<string>;
}

const TESTED_MAJOR = 7;
const CLUSTER_SLOTS = 16_384;

/** The masters to check: each master of a Cluster, or the one server. */
export function redisNodes(conn: RedisConnection): RedisNode[] {
  if ('nodes' in conn && typeof conn.nodes === 'function') {
    return conn.nodes('master').map((n) => ({
      label: nodeAddress(n),
      info: () => n.info(),
      clusterInfo: async () => String(await n.call('CLUSTER', 'INFO')),
    }));
  }
  return [
    {
      label: serverAddress(conn),
      info: () => conn.info(),
      clusterInfo: async () => String(await conn.call('CLUSTER', 'INFO')),
    },
  ];
}

/**
 * The address of the server a (connected) standalone or Sentinel connection talks to, read from its socket.
 * In Sentinel mode `options.host`/`port` are ioredis' defaults (localhost:6379), not the master the Sentinels
 * resolved, so naming them would send the operator to the wrong server.
 */
function serverAddress(conn: RedisConnection): string {
  const stream = (conn as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  if (stream?.remoteAddress !== undefined) return `${stream.remoteAddress}:${stream.remotePort ?? '?'}`;
  const { host, port } = conn.options as { host?: string; port?: number };
  return `${host ?? '?'}:${port ?? '?'}`;
}

/** Version, eviction policy and persistence of one server, from INFO (which every ACL user of ours may run). */
export async function checkNode(node: RedisNode, named: boolean): Promise<Finding[]> {
  const info = await node.info();
  const at = named ? ` on ${node.label}` : '';
  const out: Finding[] = [];
  const version = infoField(info, 'redis_version') ?? 'unknown';
  if (!versionAtLeast(version, MIN_REDIS_VERSION)) {
    out.push({
      check: 'redis version',
      level: 'fail',
      detail: `${version}${at}; BullMQ and agent-bridge need ≥ ${MIN_REDIS_VERSION.join('.')}`,
      fix: `upgrade Redis (${TESTED_MAJOR}.x is what agent-bridge is tested with)`,
    });
  } else {
    const major = Number(version.split('.')[0]);
    out.push({
      check: 'redis version',
      level: major >= TESTED_MAJOR ? 'ok' : 'warn',
      detail: `${version} (${node.label})${major >= TESTED_MAJOR ? '' : `; tested with ${TESTED_MAJOR}.x`}`,
      ...(major >= TESTED_MAJOR ? {} : { fix: `upgrade to Redis ${TESTED_MAJOR}` }),
    });
  }

  const policy = infoField(info, 'maxmemory_policy');
  if (policy === null) {
    out.push({ check: 'maxmemory-policy', level: 'skip', detail: `not in INFO${at}; make sure it is noeviction` });
  } else if (policy !== 'noeviction') {
    out.push({
      check: 'maxmemory-policy',
      level: 'fail',
      detail: `${policy}${at}: when memory is full Redis evicts keys — queued events, BullMQ's own bookkeeping and run histories vanish silently`,
      fix: 'CONFIG SET maxmemory-policy noeviction, and `maxmemory-policy noeviction` in redis.conf (infra/redis/redis.conf)',
    });
  } else {
    out.push({ check: 'maxmemory-policy', level: 'ok', detail: `noeviction${at}` });
  }

  const aof = infoField(info, 'aof_enabled');
  if (aof !== '1') {
    out.push({
      check: 'persistence (AOF)',
      level: 'fail',
      detail: `append-only file off${at}: a Redis restart loses queued events, run histories and the integration state (RDB snapshots alone lose minutes)`,
      fix: 'CONFIG SET appendonly yes, and `appendonly yes` + `appendfsync everysec` in redis.conf',
    });
  } else if (infoField(info, 'aof_last_write_status') === 'err') {
    out.push({
      check: 'persistence (AOF)',
      level: 'fail',
      detail: `the last AOF write failed${at}`,
      fix: 'check the disk of the Redis server (space, permissions); its log says why',
    });
  } else {
    out.push({ check: 'persistence (AOF)', level: 'ok', detail: `appendonly yes${at}` });
  }
  return out;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const ROLE_USERS = ['bridge', 'gateway', 'agent', 'ops'] as const;

/**
 * ACL users: who the CLI is connected as, whether the `default` user is open to anyone (no password, every
 * command), and whether each role has its own user (docs/operations.md, "Redis users and ACLs").
 */
export async function checkAcl(conn: RedisConnection, config: AppConfig): Promise<Finding[]> {
  const production = config.mode === 'production';
  let whoami: string;
  try {
    whoami = String(await conn.call('ACL', 'WHOAMI'));
  } catch (err) {
    return [{ check: 'acl users', level: 'skip', detail: `ACL WHOAMI failed: ${errorText(err)}` }];
  }
  let rules: string[];
  try {
    rules = ((await conn.call('ACL', 'LIST')) as string[]).map(String);
  } catch (err) {
    return [
      {
        check: 'acl users',
        level: 'skip',
        detail: `connected as "${whoami}", which may not list users (${errorText(err).split('\n')[0] ?? ''}); run doctor as an admin user to check them`,
      },
    ];
  }
  const out: Finding[] = [];
  const users = new Map(rules.map((r) => [r.split(' ')[1] ?? '', r]));
  const def = users.get('default') ?? '';
  const open = / on /.test(`${def} `) && /\bnopass\b/.test(def) && /(\+@all|allcommands)/.test(def);
  if (open) {
    out.push({
      check: 'acl: default user',
      level: production ? 'fail' : 'warn',
      detail: 'enabled, no password, every command: anyone who reaches the port owns the data',
      fix: 'load infra/redis/users.acl (default may only PING) and give each service its own user',
    });
  } else {
    out.push({ check: 'acl: default user', level: 'ok', detail: def ? 'restricted or protected' : 'absent' });
  }
  const missing = ROLE_USERS.filter((u) => !users.has(u));
  if (missing.length > 0) {
    out.push({
      check: 'acl: role users',
      level: production ? 'warn' : 'skip',
      detail: `no user for ${missing.join(', ')} (connected as "${whoami}")`,
      fix: 'infra/redis/render-acl.sh renders one user per role with its password; docs/operations.md',
    });
  } else {
    out.push({ check: 'acl: role users', level: 'ok', detail: `${ROLE_USERS.join(', ')} (connected as "${whoami}")` });
  }
  return out;
}

/**
 * Slot coverage and state of a Redis Cluster, as each master sees it (a master that lost slots knows it
 * before the others do). Nothing to check on a single server.
 */
export async function checkCluster(conn: RedisConnection, config: AppConfig, nodes: RedisNode[]): Promise<Finding[]> {
  const isCluster = 'nodes' in conn && typeof conn.nodes === 'function';
  if (!isCluster && config.redis.mode !== 'cluster') return [];
  const bad: string[] = [];
  for (const node of nodes) {
    let info: string;
    try {
      info = await node.clusterInfo();
    } catch (err) {
      bad.push(`${node.label}: CLUSTER INFO failed (${errorText(err)})`);
      continue;
    }
    const state = infoField(info, 'cluster_state');
    const assigned = Number(infoField(info, 'cluster_slots_assigned') ?? 0);
    const ok = Number(infoField(info, 'cluster_slots_ok') ?? 0);
    if (state !== 'ok' || assigned !== CLUSTER_SLOTS || ok !== CLUSTER_SLOTS) {
      bad.push(`${node.label}: state ${state ?? '?'}, ${assigned}/${CLUSTER_SLOTS} slots assigned, ${ok} ok`);
    }
  }
  if (bad.length === 0) {
    return [
      {
        check: 'cluster slots',
        level: 'ok',
        detail: `all ${CLUSTER_SLOTS} assigned and served, state ok on ${nodes.length} master(s)`,
      },
    ];
  }
  return [
    {
      check: 'cluster slots',
      level: 'fail',
      detail: `${bad.join('; ')}: runs whose keys hash to an uncovered slot cannot be written`,
      fix: 'redis-cli --cluster check <node>, then --cluster fix (or bring back the failed master)',
    },
  ];
}
