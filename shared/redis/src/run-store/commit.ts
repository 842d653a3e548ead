import { createHash } from 'node:crypto';
import {
  AgentBridgeError,
  ErrorCode,
  type EventEnvelope,
  type KeyLayout,
  type PubSubMode,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '../connections';
import { loadScript, luaFile, runScript } from '../lua';
import { type PackedEvent, encodeCommitEvents, encodeGapArgs } from './event-codec';

const commitScript = loadScript(luaFile('commit-events-3.lua'));
const zremIfScoreScript = loadScript(luaFile('zrem-if-score-1.lua'));

/** What the commit script did with one event. */
export type CommitOutcome = 'committed' | 'buffered' | 'duplicate' | 'conflict' | 'full' | 'ahead' | 'unregistered';

/** The result of one event of a commit call. */
export interface EventCommitResult {
  outcome: CommitOutcome;
  /** Events appended by this one (itself plus what it released from the reorder buffer); 0 unless committed. */
  appended: number;
  /** `conflict`: the seq is held in the reorder buffer (not yet committed) by another event. */
  conflictBuffered?: boolean;
  /** `duplicate`: envelopes to re-publish, in seq order; `conflict`: the envelope already in place. */
  envelopes: EventEnvelope[];
}

/** The state of a run after a commit call or a gap sweep. */
export interface RunCommitState {
  headSeq: number;
  epoch: number;
  /** The run still has events waiting in its reorder buffer (a gap before them). */
  hasBuffered: boolean;
  /** Epoch ms since which the head has been blocked (0 when no gap). */
  gapSince: number;
  /**
   * History entries this call found above the head and adopted: the XADDs of an earlier call that failed
   * before it moved the head (only an ACL denying the publish can do that now; see the script). 0 normally.
   */
  adopted: number;
}

/**
 * The commit script refused the call before writing anything: an argument or one of the run's keys is
 * unusable (a sharded channel outside the run's slot, a malformed event, a key of the wrong type, a corrupt
 * reorder-buffer entry). Retrying the same call fails the same way.
 */
export class CommitRefusedError extends AgentBridgeError {
  constructor(
    readonly runId: string,
    readonly reason: string,
    cause: unknown,
  ) {
    super(ErrorCode.Internal, `commit of run ${runId} refused, nothing written: ${reason}`, {
      cause,
      details: { runId, reason },
    });
  }
}

/** The result of {@link commitRunEvents}: the run's state, then one result per event in the given order. */
export interface RunCommitResult extends RunCommitState {
  events: EventCommitResult[];
}

/** The result of {@link sweepRunGap}. */
export interface GapSweepResult extends RunCommitState {
  outcome: 'committed' | 'skipped';
  /** `gap` events committed. */
  gapEvents: number;
  /** Buffered events released behind them. */
  released: number;
  /** First seq declared missing (0 when none). */
  firstMissing: number;
  /**
   * The epoch this sweep replaced, when the run had been written under another master replication id (a
   * Sentinel promotion or restart may have lost committed events): its gap markers start a new epoch so
   * clients are told `recovered: false`. 0 when the epoch did not change.
   */
  previousEpoch: number;
}

/** The Socket.IO adapter channel of a run's room and the message bytes around the envelope. */
export interface RoomMessage {
  channel: string;
  prefix: Buffer;
  suffix: Buffer;
  /**
   * `sharded`: SPUBLISH with the envelope as JSON (the sharded adapter's format; the channel must carry the
   * run's hash tag). `classic`: PUBLISH with the envelope as MessagePack (redis-emitter). @defaultValue classic
   */
  mode?: PubSubMode;
}

/** Limits the commit script applies (the `events` section of the config). */
export interface CommitLimits {
  historyMaxLen: number;
  historyTtlMs: number;
  reorderBufferMax: number;
}

function runKeys(keys: KeyLayout, runId: string): string[] {
  return [keys.runMeta(runId), keys.runHistory(runId), keys.runPending(runId)];
}

function state(r: unknown): RunCommitState {
  const s = r as number[];
  return {
    headSeq: Number(s[0]),
    epoch: Number(s[1]),
    hasBuffered: Number(s[2]) === 1,
    gapSince: Number(s[3]),
    adopted: s[4] ?? 0,
  };
}

const REFUSED = 'COMMITREFUSED ';

/** Runs the commit script, turning its refusal (nothing written) into a {@link CommitRefusedError}. */
async function runCommitScript(
  conn: RedisConnection,
  runId: string,
  keys: string[],
  args: ScriptArgs,
): Promise<unknown[]> {
  try {
    return (await runScript(conn, commitScript, keys, args)) as unknown[];
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(REFUSED)) {
      throw new CommitRefusedError(runId, err.message.slice(REFUSED.length), err);
    }
    throw err;
  }
}

type ScriptArgs = (string | number | Buffer)[];

function scriptArgs(mode: string, runId: string, limits: CommitLimits, room: RoomMessage, packed: Buffer): ScriptArgs {
  return [
    mode,
    runId,
    limits.historyMaxLen,
    limits.historyTtlMs,
    limits.reorderBufferMax,
    room.channel,
    room.prefix,
    room.suffix,
    packed,
    room.mode ?? 'classic',
  ];
}

/**
 * Commits events of ONE run (the caller sorts them by seq) with one atomic script call, publishing what it
 * appends to the run's room in the same step (idempotent; see `lua/commit-events-3.lua`). All or nothing:
 * a refusal ({@link CommitRefusedError}) writes nothing, and the script checks everything that could fail
 * before its first write. Cost: one round trip; the per-event arguments travel packed in one MessagePack string.
 */
export async function commitRunEvents(
  conn: RedisConnection,
  keys: KeyLayout,
  limits: CommitLimits,
  room: RoomMessage,
  runId: string,
  events: readonly PackedEvent[],
): Promise<RunCommitResult> {
  const reply = await runCommitScript(
    conn,
    runId,
    runKeys(keys, runId),
    scriptArgs('commit', runId, limits, room, encodeCommitEvents(events)),
  );
  return {
    ...state(reply[0]),
    events: reply.slice(1).map((r) => {
      const e = r as (string | number)[];
      const outcome = String(e[0]) as CommitOutcome;
      const envelopes = e.slice(2).map((json) => JSON.parse(String(json)) as EventEnvelope);
      if (outcome === 'conflict') return { outcome, appended: 0, conflictBuffered: Number(e[1]) === 1, envelopes };
      return { outcome, appended: Number(e[1]), envelopes };
    }),
  };
}

/** Id prefix of a run's gap events: short, and free of characters BullMQ or Redis Cluster would misread. */
export function gapIdPrefix(runId: string): string {
  return `gap-${createHash('sha1').update(runId).digest('hex').slice(0, 16)}`;
}

/**
 * Commits `gap` events for the missing seqs of a run whose head has been blocked for at least
 * `gapTimeoutMs` (at most `most` per call), then releases its buffered events; `skipped` when nothing is
 * overdue (idempotent).
 */
export async function sweepRunGap(
  conn: RedisConnection,
  keys: KeyLayout,
  limits: CommitLimits,
  room: RoomMessage,
  runId: string,
  gap: { gapTimeoutMs: number; most: number },
): Promise<GapSweepResult> {
  const reason = `not received within ${gap.gapTimeoutMs} ms while later events waited`;
  const packed = encodeGapArgs({
    gapTimeoutMs: gap.gapTimeoutMs,
    reason,
    most: gap.most,
    idPrefix: gapIdPrefix(runId),
  });
  const reply = await runCommitScript(
    conn,
    runId,
    runKeys(keys, runId),
    scriptArgs('gap', runId, limits, room, packed),
  );
  const r = reply[1] as (string | number)[];
  const appended = Number(r[1]);
  const gapEvents = Number(r[2]);
  return {
    ...state(reply[0]),
    outcome: String(r[0]) === 'committed' ? 'committed' : 'skipped',
    gapEvents,
    released: appended - gapEvents,
    firstMissing: Number(r[3]),
    previousEpoch: Number(r[4] ?? 0),
  };
}

/** Indexes a run as blocked by a missing seq since `since` (epoch ms), for the leader's gap sweep. */
export async function markGapped(conn: RedisConnection, keys: KeyLayout, runId: string, since: number): Promise<void> {
  await conn.zadd(keys.gappedRuns, since, runId);
}

/** Removes `runId` from the gapped-runs index only if its score is still `score`. */
export async function unmarkGapped(
  conn: RedisConnection,
  keys: KeyLayout,
  runId: string,
  score: number,
): Promise<boolean> {
  return Number(await runScript(conn, zremIfScoreScript, [keys.gappedRuns], [runId, score])) === 1;
}

/** Runs blocked since `cutoff` (epoch ms) or earlier, oldest first, at most `limit`, with their scores. */
export async function overdueGappedRuns(
  conn: RedisConnection,
  keys: KeyLayout,
  cutoff: number,
  limit: number,
): Promise<{ runId: string; since: number }[]> {
  const flat = await conn.zrangebyscore(keys.gappedRuns, '-inf', cutoff, 'WITHSCORES', 'LIMIT', 0, limit);
  const out: { runId: string; since: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ runId: String(flat[i]), since: Number(flat[i + 1]) });
  return out;
}
