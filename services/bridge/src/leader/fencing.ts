import { type LeaderRecord, readLastIssuedEpoch, readLeaderRecord } from '@agent-bridge/control-plane';
import { FencedError, type KeyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { bridgeScript, runScript } from './scripts';

/** Outcome of {@link FencingStore.issueEpoch}. */
export type IssueEpochResult =
  | { ok: true; epoch: number }
  | { ok: false; reason: 'held'; holderId: string; holderEpoch: number; pttlMs: number }
  | { ok: false; reason: 'lease-lost' };

/** A fenced write: SET the value, or LPUSH it onto a list capped at `cap` entries. */
export type FencedWrite =
  { mode: 'set'; key: string; value: string } | { mode: 'lpush'; key: string; value: string; cap: number };

function toNumber(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : -1;
}

/**
 * The fencing authority: the data Redis. Holds the leader record (`keys.leader`, expiring with the lease)
 * and the last issued epoch (`keys.leaderEpoch`), and runs every leader-only write as a Lua
 * check-and-set against the writer's epoch, so a paused or partitioned ex-leader's writes are rejected
 * with {@link FencedError}. All keys share the `{cluster}` hash tag (one slot on Redis Cluster).
 * The store never closes the connection it is given.
 */
export class FencingStore {
  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: KeyLayout,
  ) {}

  /**
   * Issues a new epoch for `id` holding the lease `token` and writes the leader record, atomically. With
   * `checkLeaseKey` (the lease lives in this Redis) it also checks that the lease key still holds `token`.
   */
  async issueEpoch(id: string, token: string, ttlMs: number, checkLeaseKey: boolean): Promise<IssueEpochResult> {
    const k = this.keys;
    const res = (await runScript(
      this.conn,
      bridgeScript('issue-epoch-4.lua'),
      [k.leader, k.leaderEpoch, k.leaderLease, k.leaderEpochLineage],
      [id, token, ttlMs, checkLeaseKey ? '1' : '0'],
    )) as unknown[];
    const code = toNumber(res[0]);
    if (code === 1) return { ok: true, epoch: toNumber(res[1]) };
    if (code === 0) {
      return {
        ok: false,
        reason: 'held',
        holderEpoch: toNumber(res[1]),
        holderId: typeof res[2] === 'string' ? res[2] : '',
        pttlMs: toNumber(res[3]),
      };
    }
    return { ok: false, reason: 'lease-lost' };
  }

  /** Refreshes the record's TTL while it is still ours; false means leadership is lost. */
  async extendRecord(token: string, epoch: number, ttlMs: number): Promise<boolean> {
    const k = this.keys;
    const res = await runScript(
      this.conn,
      bridgeScript('extend-leader-2.lua'),
      [k.leader, k.leaderEpoch],
      [token, epoch, ttlMs],
    );
    return toNumber(res) === 1;
  }

  /** Deletes the record if it is still ours and announces `message` on the leader channel. */
  async resign(token: string, message: string): Promise<boolean> {
    const k = this.keys;
    const res = await runScript(
      this.conn,
      bridgeScript('resign-leader-2.lua'),
      [k.leader, k.leaderEpoch],
      [token, k.leaderChannel, message],
    );
    return toNumber(res) === 1;
  }

  /** The live leader record, or null when nobody leads. */
  current(): Promise<LeaderRecord | null> {
    return readLeaderRecord(this.conn, this.keys);
  }

  /** The last epoch ever issued (0 when none). */
  async lastEpoch(): Promise<number> {
    return (await readLastIssuedEpoch(this.conn, this.keys)) ?? 0;
  }

  /**
   * A leader-only write for `epoch`; optionally PUBLISHes the value on `channel` in the same step.
   * @throws FencedError when `epoch` is not the current leader epoch (or no leader record is alive).
   */
  async write(epoch: number, write: FencedWrite, channel = ''): Promise<void> {
    const k = this.keys;
    const res = (await runScript(
      this.conn,
      bridgeScript('fenced-write-3.lua'),
      [k.leader, k.leaderEpoch, write.key],
      [epoch, write.mode, write.value, write.mode === 'lpush' ? write.cap : 0, channel],
    )) as unknown[];
    if (toNumber(res[0]) !== 1) throw fenced(epoch, res[1]);
  }

  /**
   * Leader housekeeping: removes dead membership records of `role` for `epoch`; returns the removed ids.
   * @throws FencedError for a stale epoch.
   */
  async removeDeadMembers(epoch: number, role: 'bridge' | 'gateway', now = Date.now()): Promise<string[]> {
    const k = this.keys;
    const res = (await runScript(
      this.conn,
      bridgeScript('remove-dead-members-4.lua'),
      [k.leader, k.leaderEpoch, k.members(role), k.memberRecords(role)],
      [epoch, now],
    )) as unknown[];
    if (toNumber(res[0]) !== 1) throw fenced(epoch, res[1]);
    return res.slice(1).map(String);
  }
}

/** Builds the FencedError of a script's `{0, currentEpoch}` answer. */
export function fenced(epoch: number, current: unknown): FencedError {
  const n = toNumber(current);
  return new FencedError(epoch, n < 0 ? null : n);
}
