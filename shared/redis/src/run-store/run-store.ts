import type { EventEnvelope, KeyLayout, RunRecord } from '@agent-bridge/protocol';
import type { RedisConnection } from '../connections';
import {
  type CommitLimits,
  type GapSweepResult,
  type RoomMessage,
  type RunCommitResult,
  commitRunEvents,
  markGapped,
  overdueGappedRuns,
  sweepRunGap,
  unmarkGapped,
} from './commit';
import { type PackedEvent, packEvent } from './event-codec';
import { type HistoryPage, readHistory } from './history';
import {
  type ExpireUnattendedResult,
  type ListRunsOptions,
  type RegisterRunInput,
  type RegisterRunResult,
  expireUnattended,
  getRun,
  listRuns,
  registerRun,
  requestCancel,
} from './registry';

/** Options of a {@link RunStore}. */
export interface RunStoreOptions {
  /** Command-role connection. Never closed by the store. */
  connection: RedisConnection;
  keys: KeyLayout;
  /** History length, TTL and reorder buffer bound (config `events`). */
  limits: CommitLimits;
  /**
   * The Socket.IO room message of a run (channel and bytes around the envelope), which the commit script
   * publishes with each appended event. Needed by {@link RunStore.commit} and {@link RunStore.sweepGap} only.
   * @defaultValue none (commits throw)
   */
  roomMessage?: (runId: string) => RoomMessage;
}

/**
 * The one owner of the run keyspace (`{run:<runId>}` meta, history and reorder buffer, the run indexes and
 * the gapped-runs index): registration, the ordered idempotent commit (one Lua script, batch-only, packed
 * arguments), the leader's gap sweep and history reads. Nothing else writes those keys; the layout is in
 * `@agent-bridge/protocol` `keys.ts` and docs/protocol.md.
 */
export class RunStore {
  private readonly conn: RedisConnection;
  private readonly keys: KeyLayout;
  private readonly limits: CommitLimits;
  private readonly roomMessageOf: ((runId: string) => RoomMessage) | undefined;
  private readonly rooms = new Map<string, RoomMessage>();

  constructor(options: RunStoreOptions) {
    this.conn = options.connection;
    this.keys = options.keys;
    this.limits = options.limits;
    this.roomMessageOf = options.roomMessage;
  }

  /** Records a run (idempotent; another owner is refused). See {@link registerRun}. */
  register(input: RegisterRunInput): Promise<RegisterRunResult> {
    return registerRun(this.conn, this.keys, input);
  }

  /**
   * Leader duty: gives the history TTL to registry records that never got one (runs registered, never
   * committed), walking the run index after `cursor`. See {@link expireUnattended}.
   */
  expireUnattended(cursor: number, createdBefore: number, limit: number): Promise<ExpireUnattendedResult> {
    return expireUnattended(this.conn, this.keys, { cursor, createdBefore, limit, ttlMs: this.limits.historyTtlMs });
  }

  /** The registry record of a run, or null when unknown. */
  getRun(runId: string): Promise<RunRecord | null> {
    return getRun(this.conn, this.keys, runId);
  }

  /** Runs newest first (all, or one user's). */
  listRuns(options: ListRunsOptions = {}): Promise<RunRecord[]> {
    return listRuns(this.conn, this.keys, options);
  }

  /** Asks the run's agent to stop; false when the run is not registered. */
  requestCancel(runId: string): Promise<boolean> {
    return requestCancel(this.conn, this.keys, runId);
  }

  /** Committed events after `afterSeq`, at most `limit`, with epoch and head (one round trip). */
  readHistory(runId: string, afterSeq: number, limit: number): Promise<HistoryPage> {
    return readHistory(this.conn, this.keys, runId, afterSeq, limit);
  }

  /** Packs an event for {@link commit} (once per event, whatever the number of attempts). */
  pack(event: EventEnvelope): PackedEvent {
    return packEvent(event);
  }

  /**
   * Commits events of ONE run, sorted by seq, in one atomic script call that also publishes what it
   * appends (idempotent). Results per event in the given order.
   */
  commit(runId: string, events: readonly PackedEvent[]): Promise<RunCommitResult> {
    return commitRunEvents(this.conn, this.keys, this.limits, this.room(runId), runId, events);
  }

  /** Leader duty for one run: `gap` events for seqs missing since `gapTimeoutMs`, then the buffer released. */
  sweepGap(runId: string, gap: { gapTimeoutMs: number; most: number }): Promise<GapSweepResult> {
    return sweepRunGap(this.conn, this.keys, this.limits, this.room(runId), runId, gap);
  }

  /** Indexes a run as blocked by a missing seq since `since`. */
  markGapped(runId: string, since: number): Promise<void> {
    return markGapped(this.conn, this.keys, runId, since);
  }

  /** Removes a run from the gapped index if its score is still `score`. */
  unmarkGapped(runId: string, score: number): Promise<boolean> {
    return unmarkGapped(this.conn, this.keys, runId, score);
  }

  /** Runs blocked since `cutoff` or earlier, oldest first. */
  overdueGappedRuns(cutoff: number, limit: number): Promise<{ runId: string; since: number }[]> {
    return overdueGappedRuns(this.conn, this.keys, cutoff, limit);
  }

  private room(runId: string): RoomMessage {
    let room = this.rooms.get(runId);
    if (!room) {
      if (!this.roomMessageOf) throw new Error('RunStore without roomMessage cannot commit');
      room = this.roomMessageOf(runId);
      // A small cache: a replica commits the same live runs again and again.
      if (this.rooms.size >= 10_000) this.rooms.clear();
      this.rooms.set(runId, room);
    }
    return room;
  }
}
