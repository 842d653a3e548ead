import type { KeyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';

/** The leader record as stored in Redis by the fencing authority. */
export interface LeaderRecord {
  id: string;
  epoch: number;
  /** Remaining validity of the record (≈ lease), ms. */
  pttlMs: number;
}

/**
 * The live leader record (`keys.leader`), or null when nobody leads. This is what the fencing scripts
 * check a leader-only write against, so it is the cluster's answer to "who leads", independent of what
 * any replica believes. Two reads, sent together.
 */
export async function readLeaderRecord(conn: RedisConnection, keys: KeyLayout): Promise<LeaderRecord | null> {
  const [fields, pttl] = await Promise.all([conn.hmget(keys.leader, 'id', 'epoch'), conn.pttl(keys.leader)]);
  const [id, epoch] = fields;
  if (id == null || epoch == null) return null;
  return { id, epoch: Number(epoch), pttlMs: Math.max(0, pttl) };
}

/** The last fencing epoch ever issued (`keys.leaderEpoch`), null when none was. */
export async function readLastIssuedEpoch(conn: RedisConnection, keys: KeyLayout): Promise<number | null> {
  const raw = await conn.get(keys.leaderEpoch);
  if (raw === null || raw === '') return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}
