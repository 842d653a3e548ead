import { join } from 'node:path';
import {
  type EventEnvelope,
  ForbiddenError,
  type KeyLayout,
  type RunRecord,
  RunRecordSchema,
  type RunStatus,
} from '@agent-bridge/protocol';
import type { RedisConnection } from './connections';
import { loadScript, runScript } from './lua';

/**
 * The run registry and run history, read and written in the layout documented in `@agent-bridge/protocol`
 * `keys.ts`. The bridge's commit script is the only writer of history; this module reads it.
 */

/** One page of a run's committed history, as returned by {@link readHistory}. */
export interface HistoryPage {
  /** Current history epoch (0 when the run has no history yet). */
  epoch: number;
  /** Highest committed seq (0 when nothing is committed). */
  headSeq: number;
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

const registerRunScript = loadScript(join(__dirname, '..', 'lua', 'register-run-2.lua'));

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

/** Decodes a registry hash (HGETALL as an object); null when it holds no registered run (no owner). */
export function decodeRunRecord(hash: Record<string, string>): RunRecord | null {
  if (!hash['owner'] || !hash['runId']) return null;
  const parsed = RunRecordSchema.safeParse({
    runId: hash['runId'],
    owner: hash['owner'],
    agent: hash['agent'] ?? '',
    status: hash['status'] ?? 'pending',
    createdAt: toInt(hash['createdAt']),
    updatedAt: toInt(hash['updatedAt']),
    headSeq: toInt(hash['headSeq']),
    epoch: toInt(hash['epoch']),
    cancelRequested: hash['cancelRequested'] === '1',
  });
  return parsed.success ? parsed.data : null;
}

function pairsToObject(flat: readonly unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/**
 * Reads committed events of a run after `afterSeq` (at most `limit`), with the history epoch and head,
 * in one atomic MULTI on the run's slot (a consistent snapshot, also on Redis Cluster).
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
    .hmget(keys.runMeta(runId), 'headSeq', 'epoch')
    .xrange(history, `${afterSeq + 1}-0`, '+', 'COUNT', limit + 1)
    .xrange(history, '-', '+', 'COUNT', 1)
    .exec();
  if (!res) throw new Error('readHistory: transaction aborted');
  for (const [err] of res) if (err) throw err;
  const [head, epoch] = res[0]?.[1] as (string | null)[];
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
    events,
    firstSeq: first.length > 0 ? seqOfEntry(first[0]) : null,
    hasMore,
  };
}

/** The registry record of a run, or null when the run is unknown (never registered, or expired). */
export async function getRun(conn: RedisConnection, keys: KeyLayout, runId: string): Promise<RunRecord | null> {
  const hash = await conn.hgetall(keys.runMeta(runId));
  return decodeRunRecord(hash);
}

/** Options of {@link listRuns}. */
export interface ListRunsOptions {
  /** Only this user's runs. @defaultValue every run */
  userId?: string;
  /** Most runs returned, newest first. @defaultValue 50 (at most 1000) */
  limit?: number;
}

/**
 * Lists runs newest first from the run index (all runs, or one user's). Runs whose record has expired are
 * skipped. Cost: one ZREVRANGE plus one HGETALL per run (sent together, not one after another).
 */
export async function listRuns(
  conn: RedisConnection,
  keys: KeyLayout,
  options: ListRunsOptions = {},
): Promise<RunRecord[]> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 1000);
  const index = options.userId === undefined ? keys.runsIndex : keys.userRuns(options.userId);
  const ids = await conn.zrevrange(index, 0, limit - 1);
  const records = await Promise.all(ids.map((id) => getRun(conn, keys, id)));
  return records.filter((r): r is RunRecord => r !== null);
}

/** What {@link registerRun} records. */
export interface RegisterRunInput {
  runId: string;
  /** User id of the owner. */
  owner: string;
  /** Agent name; '' keeps the current one. @defaultValue '' */
  agent?: string;
  /** Status of a new (or still pending) run. @defaultValue 'pending' */
  status?: RunStatus;
  /** Lifetime of the record without events; the bridge extends it on every commit. */
  ttlMs: number;
}

/** What {@link registerRun} found and wrote. */
export interface RegisterRunResult {
  /** False when the run was already registered (by the same owner). */
  created: boolean;
  record: RunRecord;
  /** Highest seq seen for this run (committed head or buffered), so a resumed producer can continue after it. */
  lastKnownSeq: number;
}

/**
 * Records a run in the run registry (idempotent): the record (owner, agent, status, timestamps, head seq)
 * and the indexes of all runs and of the owner's runs. A run registered by another user is refused with
 * {@link ForbiddenError}; a status never moves backwards (a running run stays running).
 */
export async function registerRun(
  conn: RedisConnection,
  keys: KeyLayout,
  input: RegisterRunInput,
): Promise<RegisterRunResult> {
  const res = (await runScript(
    conn,
    registerRunScript,
    [keys.runMeta(input.runId), keys.runPending(input.runId)],
    [input.runId, input.owner, input.agent ?? '', input.status ?? '', input.ttlMs],
  )) as unknown[];
  if (res[0] === -1) throw new ForbiddenError(`run ${input.runId} belongs to another user`);
  const record = decodeRunRecord(pairsToObject(res.slice(2)));
  if (!record) throw new Error(`run ${input.runId}: registry record could not be read back`);
  // The indexes live in other slots than the run; ZADD NX keeps the first creation time.
  await Promise.all([
    conn.zadd(keys.runsIndex, 'NX', record.createdAt, input.runId),
    conn.zadd(keys.userRuns(input.owner), 'NX', record.createdAt, input.runId),
  ]);
  return { created: res[0] === 1, record, lastKnownSeq: Math.max(record.headSeq, Number(res[1] ?? 0)) };
}

/** The message a run's control channel carries to ask its agent to stop. */
export const CANCEL_MESSAGE = JSON.stringify({ type: 'cancel' });

/**
 * Asks the agent running `runId` to stop: sets `cancelRequested` in the registry (for an agent that
 * starts or reconnects later) and publishes `{"type":"cancel"}` on `keys.runControlChannel(runId)`.
 * Returns false when the run is not registered. The agent records the final status.
 */
export async function requestCancel(conn: RedisConnection, keys: KeyLayout, runId: string): Promise<boolean> {
  const meta = keys.runMeta(runId);
  const exists = await conn.hexists(meta, 'owner');
  if (!exists) return false;
  await conn.hset(meta, 'cancelRequested', '1');
  await conn.publish(keys.runControlChannel(runId), CANCEL_MESSAGE);
  return true;
}
