import type { AppConfig } from '@agent-bridge/config';
import type { RedisConnection } from './connections';
import { RedisSetupError, type RedisMasterInfo, type RedisTopology, nodeAddress, readTopology } from './topology';

export { infoField } from './info';
export { RedisSetupError } from './topology';

export interface RedisReport {
  /** The lowest version among the masters. */
  version: string;
  /** `redis_mode` of the first master (standalone | cluster). */
  mode: string;
  /** The masters' policy when they agree, else the first one that is not noeviction. */
  maxmemoryPolicy: string | null;
  warnings: string[];
  topology: RedisTopology;
}

/** Oldest Redis agent-bridge (and BullMQ) runs on. */
export const MIN_REDIS_VERSION: readonly number[] = [6, 2, 0];

/** Whether a dotted version (`7.0.15`) is at least `min`. */
export function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < min.length; i++) {
    const a = parts[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** The policy of a master from INFO, else CONFIG GET (null when neither may be read). */
async function policyOf(master: RedisMasterInfo, conn: RedisConnection): Promise<string | null> {
  if (master.maxmemoryPolicy !== null) return master.maxmemoryPolicy;
  const node = 'nodes' in conn ? conn.nodes('master').find((n) => nodeAddress(n) === master.address) : conn;
  try {
    const res = await node?.config('GET', 'maxmemory-policy');
    return res?.[1] ?? null;
  } catch {
    return null;
  }
}

const where = (m: RedisMasterInfo, t: RedisTopology): string =>
  t.masters.length > 1 ? `on master ${m.address} (of ${t.masters.length})` : `on ${m.address}`;

/**
 * Checks that Redis is usable on every master (each master of a Cluster, the master Sentinel names): version
 * ≥ 6.2 and `maxmemory-policy noeviction` (BullMQ loses jobs otherwise), naming each master that fails. A
 * wrong policy throws {@link RedisSetupError} when `REDIS_REQUIRE_NOEVICTION` is true and is a warning
 * otherwise; in production, AOF off on a master without replicas is a warning (a restart loses queued
 * events). The policy is read from INFO, or from
 * `CONFIG GET` when INFO hides it (managed Redis).
 */
export async function checkRedis(conn: RedisConnection, config: AppConfig): Promise<RedisReport> {
  const topology = await readTopology(conn, config);
  const [first] = topology.masters;
  // readTopology refuses a Cluster without masters and reads one server otherwise: never hit.
  if (first === undefined) throw new RedisSetupError('no Redis master to check');
  const warnings: string[] = [];
  const tooOld = topology.masters.filter((m) => !versionAtLeast(m.version, MIN_REDIS_VERSION));
  if (tooOld.length > 0) {
    const which = tooOld.map((m) => `${m.version} ${where(m, topology)}`).join(', ');
    throw new RedisSetupError(`Redis is too old (${which}): agent-bridge needs Redis ≥ ${MIN_REDIS_VERSION.join('.')}`);
  }
  const policies = await Promise.all(topology.masters.map((m) => policyOf(m, conn)));
  const evicting: string[] = [];
  topology.masters.forEach((m, i) => {
    const policy = policies[i] ?? null;
    if (policy === null) {
      warnings.push(
        `cannot read maxmemory-policy ${where(m, topology)} (CONFIG GET not allowed); make sure it is noeviction`,
      );
    } else if (policy !== 'noeviction') {
      evicting.push(`"${policy}" ${where(m, topology)}`);
    }
    // AOF is required where nothing else holds the data: in production, on a master without replicas (with
    // replicas a crashed master fails over to one). Development Redis may run without it.
    if (m.aof === false && config.mode === 'production' && m.replicas.length === 0) {
      warnings.push(
        `append-only file off ${where(m, topology)}: a Redis restart loses queued events and run histories`,
      );
    }
  });
  if (evicting.length > 0) {
    const msg = `Redis maxmemory-policy is ${evicting.join(', ')}, but BullMQ needs "noeviction" (evicted jobs are lost events)`;
    if (config.redis.requireNoeviction) {
      throw new RedisSetupError(
        `${msg}. Set it (CONFIG SET maxmemory-policy noeviction) or REDIS_REQUIRE_NOEVICTION=false.`,
      );
    }
    warnings.push(msg);
  }
  const lowest = topology.masters.reduce(
    (low, m) => (versionAtLeast(m.version, low.version.split('.').map(Number)) ? low : m),
    first,
  );
  const known = policies.filter((p): p is string => p !== null);
  return {
    version: lowest.version,
    mode: first.redisMode,
    maxmemoryPolicy: known.find((p) => p !== 'noeviction') ?? known[0] ?? null,
    warnings,
    topology,
  };
}
