import type { EventEnvelope, KeyLayout, RunStatus } from '@agent-bridge/protocol';
import type { RedisConnection } from '../connections';

/** History reads of the RunStore module: a run's committed events, as the commit script stored them. */

/** One page of a run's committed history, as returned by {@link readHistory}. */
export interface HistoryPage {
  /** Current history epoch (0 when the run has no history yet). */
  epoch: number;
  /** Highest committed seq (0 when nothing is committed). */
  headSeq: number;
  /**
   * The run's status in the same snapshot as `headSeq` and `events` (null when the run has no record), so a
   * terminal status always comes with the events up to the terminal one.
   */
  status: RunStatus | null;
  /** Committed events with seq > afterSeq, in seq order, at most `limit`. */
  events: EventEnvelope[];
  /**
   * Oldest seq still held in the history (null when the history is empty or gone). When
   * `firstSeq > afterSeq + 1` the events in between were trimmed: the reader cannot be given a gapless
   * continuation (`recovered: false`).
   */
  firstSeq: number | null;
  /** True when more committed events follow the last one in `events`. */
  hasMore: boolean;
}

function parseEntry(entry: unknown): EventEnvelope | null {
  if (!Array.isArray(entry)) return null;
  const fields = entry[1] as unknown;
  if (!Array.isArray(fields)) return null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'e') return JSON.parse(String(fields[i + 1])) as EventEnvelope;
  }
  return null;
}

function seqOfEntry(entry: unknown): number | null {
  if (!Array.isArray(entry) || typeof entry[0] !== 'string') return null;
  const n = Number.parseInt(entry[0], 10);
  return Number.isFinite(n) ? n : null;
}

function toInt(v: string | null | undefined): number {
  const n = v === null || v === undefined ? 0 : Number(v);
  return Number.isFinite(n) ? n : 0;
}

const RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>([
  'pending',
  'running',
  'completed',
  'failed',
  'cancelled',
]);

function toStatus(v: string | null | undefined): RunStatus | null {
  return typeof v === 'string' && RUN_STATUSES.has(v) ? (v as RunStatus) : null;
}

/**
 * Reads committed events of a run after `afterSeq` (at most `limit`), with the history epoch and head,
 * and the run's status, in one atomic MULTI on the run's slot (a consistent snapshot, also on Redis Cluster).
 *
 * Cost: one round trip; O(limit) entries transferred.
 */
export async function readHistory(
  conn: RedisConnection,
  keys: KeyLayout,
  runId: string,
  afterSeq: number,
  limit: number,
): Promise<HistoryPage> {
  if (!Number.isInteger(afterSeq) || afterSeq < 0) throw new RangeError(`afterSeq must be an integer ≥ 0`);
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be an integer ≥ 1`);
  const history = keys.runHistory(runId);
  const res = await conn
    .multi()
    .hmget(keys.runMeta(runId), 'headSeq', 'epoch', 'status')
    .xrange(history, `${afterSeq + 1}-0`, '+', 'COUNT', limit + 1)
    .xrange(history, '-', '+', 'COUNT', 1)
    .exec();
  if (!res) throw new Error('readHistory: transaction aborted');
  for (const [err] of res) if (err) throw err;
  const [head, epoch, status] = res[0]?.[1] as (string | null)[];
  const entries = (res[1]?.[1] ?? []) as unknown[];
  const first = (res[2]?.[1] ?? []) as unknown[];
  const hasMore = entries.length > limit;
  const events: EventEnvelope[] = [];
  for (const entry of entries.slice(0, limit)) {
    const ev = parseEntry(entry);
    if (ev) events.push(ev);
  }
  return {
    epoch: toInt(epoch),
    headSeq: toInt(head),
    status: toStatus(status),
    events,
    firstSeq: first.length > 0 ? seqOfEntry(first[0]) : null,
    hasMore,
  };
}
