import type { KeyLayout, MemberRecord } from '@agent-bridge/protocol';
import type { MemberRole, RedisConnection } from '@agent-bridge/redis';
import { parseJson } from './json';

/** A member record as shown to operators: alive (expiry in the future) or dead but not yet removed. */
export interface MemberView extends MemberRecord {
  alive: boolean;
  /** Milliseconds since its last heartbeat. */
  lastSeenAgoMs: number;
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Live members of a role (expiry in the future), ordered by id — what the leader's health checks count.
 * Records that are missing or unreadable are skipped. Reads only the live ids' records.
 */
export async function listMembers(conn: RedisConnection, keys: KeyLayout, role: MemberRole): Promise<MemberRecord[]> {
  const ids = await conn.zrangebyscore(keys.members(role), `(${Date.now()}`, '+inf');
  if (ids.length === 0) return [];
  const raws = await conn.hmget(keys.memberRecords(role), ...ids);
  return raws
    .map((raw) => parseJson(raw) as MemberRecord | null)
    .filter((rec): rec is MemberRecord => rec !== null)
    .sort(byId);
}

/**
 * Every member record of a role, alive or dead but not yet removed by the leader's housekeeping, ordered
 * by id — what operators see. Liveness is judged with this process's clock at `now`.
 */
export async function readMembers(
  conn: RedisConnection,
  keys: KeyLayout,
  role: MemberRole,
  now = Date.now(),
): Promise<MemberView[]> {
  const [scores, records] = await Promise.all([
    conn.zrangebyscore(keys.members(role), '-inf', '+inf', 'WITHSCORES'),
    conn.hgetall(keys.memberRecords(role)),
  ]);
  const expiry = new Map<string, number>();
  for (let i = 0; i + 1 < scores.length; i += 2) expiry.set(scores[i] as string, Number(scores[i + 1]));
  const out: MemberView[] = [];
  for (const raw of Object.values(records)) {
    const rec = parseJson(raw) as MemberRecord | null;
    if (!rec) continue;
    out.push({ ...rec, alive: (expiry.get(rec.id) ?? 0) > now, lastSeenAgoMs: Math.max(0, now - rec.lastSeen) });
  }
  return out.sort(byId);
}
