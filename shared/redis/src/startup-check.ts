import type { AppConfig } from '@agent-bridge/config';
import { AgentBridgeError, ErrorCode } from '@agent-bridge/protocol';
import type { RedisConnection } from './connections';

/** Redis is reachable but not fit for agent-bridge (old version, evicting keys). */
export class RedisSetupError extends AgentBridgeError {
  constructor(message: string) {
    super(ErrorCode.Unavailable, message);
  }
}

export interface RedisReport {
  version: string;
  mode: string;
  maxmemoryPolicy: string | null;
  warnings: string[];
}

/** Oldest Redis agent-bridge (and BullMQ) runs on. */
export const MIN_REDIS_VERSION: readonly number[] = [6, 2, 0];
const MIN_VERSION = MIN_REDIS_VERSION;

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

/** One `field:value` of an `INFO` reply, or null. */
export function infoField(info: string, field: string): string | null {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim() ?? null;
}

/**
 * Checks that Redis is usable: version ≥ 6.2 and `maxmemory-policy noeviction` (BullMQ loses jobs
 * otherwise). A wrong policy throws {@link RedisSetupError} when `REDIS_REQUIRE_NOEVICTION` is true,
 * and is returned as a warning otherwise. When `CONFIG GET` is not allowed (managed Redis, ACL) the
 * policy is read from `INFO memory` instead.
 */
export async function checkRedis(conn: RedisConnection, config: AppConfig): Promise<RedisReport> {
  const node = 'nodes' in conn && typeof conn.nodes === 'function' ? (conn.nodes('master')[0] ?? conn) : conn;
  const info = await node.info();
  const version = infoField(info, 'redis_version') ?? 'unknown';
  const mode = infoField(info, 'redis_mode') ?? 'unknown';
  const warnings: string[] = [];
  if (!versionAtLeast(version, MIN_VERSION)) {
    throw new RedisSetupError(`Redis ${version} is too old: agent-bridge needs Redis ≥ ${MIN_VERSION.join('.')}`);
  }
  let policy = infoField(info, 'maxmemory_policy');
  if (policy === null) {
    try {
      const res = (await node.config('GET', 'maxmemory-policy')) as string[];
      policy = res[1] ?? null;
    } catch {
      warnings.push('cannot read maxmemory-policy (CONFIG GET not allowed); make sure it is noeviction');
    }
  }
  if (policy !== null && policy !== 'noeviction') {
    const msg = `Redis maxmemory-policy is "${policy}", but BullMQ needs "noeviction" (evicted jobs are lost events)`;
    if (config.redis.requireNoeviction) {
      throw new RedisSetupError(
        `${msg}. Set it (CONFIG SET maxmemory-policy noeviction) or REDIS_REQUIRE_NOEVICTION=false.`,
      );
    }
    warnings.push(msg);
  }
  return { version, mode, maxmemoryPolicy: policy, warnings };
}
