import {
  ForbiddenError,
  InvalidRequestError,
  type KeyLayout,
  type RunRecord,
  RunRecordSchema,
  type RunStatus,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '../connections';
import { loadScript, luaFile, runScript } from '../lua';

/**
 * The run registry (part of the RunStore module): register, read, list, cancel. Layout in
 * `@agent-bridge/protocol` `keys.ts`.
 */

const registerRunScript = loadScript(luaFile('register-run-1.lua'));

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
  /** Agent name; '' when not known (a later registration may set it once). @defaultValue '' */
  agent?: string;
  /** Status of a new run. @defaultValue 'pending' */
  status?: RunStatus;
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
 * {@link ForbiddenError}. Every field is written once (HSETNX: the only write the gateway and agent Redis
 * users have on a run's meta hash); the status moves on with the bridge's commits. The record gets its TTL
 * from the bridge (its commits, or the leader's sweep of records that never got an event).
 */
export async function registerRun(
  conn: RedisConnection,
  keys: KeyLayout,
  input: RegisterRunInput,
): Promise<RegisterRunResult> {
  const meta = keys.runMeta(input.runId);
  const res = (await runScript(
    conn,
    registerRunScript,
    [meta],
    [input.runId, input.owner, input.agent ?? '', input.status ?? ''],
  ).catch((err: unknown) => {
    // The script refuses (nothing written) a run id or owner that is empty.
    if (err instanceof Error && err.message.startsWith('REGISTERREFUSED ')) {
      throw new InvalidRequestError(`register run ${input.runId}: ${err.message.slice(16)}`);
    }
    throw err;
  })) as unknown[];
  if (res[0] === -1) throw new ForbiddenError(`run ${input.runId} belongs to another user`);
  const record = decodeRunRecord(pairsToObject(res.slice(1)));
  if (!record) throw new Error(`run ${input.runId}: registry record could not be read back`);
  // The indexes live in other slots than the run; ZADD NX keeps the first creation time. The head and the
  // reorder buffer are read together (MULTI) so an event moving from one to the other is seen once.
  const [, , cursor] = await Promise.all([
    conn.zadd(keys.runsIndex, 'NX', record.createdAt, input.runId),
    conn.zadd(keys.userRuns(input.owner), 'NX', record.createdAt, input.runId),
    conn.multi().hget(meta, 'headSeq').hkeys(keys.runPending(input.runId)).exec(),
  ]);
  if (!cursor) throw new Error('registerRun: transaction aborted');
  for (const [err] of cursor) if (err) throw err;
  const head = Number(cursor[0]?.[1] ?? 0) || 0;
  const buffered = (cursor[1]?.[1] ?? []) as string[];
  return {
    created: res[0] === 1,
    record,
    lastKnownSeq: Math.max(head, ...buffered.map(Number).filter(Number.isFinite)),
  };
}

/** The message a run's control channel carries to ask its agent to stop. */
export const CANCEL_MESSAGE = JSON.stringify({ type: 'cancel' });

/**
 * Asks the agent running `runId` to stop: sets `cancelRequested` in the registry (HSETNX: for an agent
 * that starts or reconnects later; once asked, always asked) and publishes `{"type":"cancel"}` on
 * `keys.runControlChannel(runId)`. Returns false when the run is not registered. The agent records the
 * final status.
 */
export async function requestCancel(conn: RedisConnection, keys: KeyLayout, runId: string): Promise<boolean> {
  const meta = keys.runMeta(runId);
  const exists = await conn.hexists(meta, 'owner');
  if (!exists) return false;
  await conn.hsetnx(meta, 'cancelRequested', '1');
  await conn.publish(keys.runControlChannel(runId), CANCEL_MESSAGE);
  return true;
}

/** One step of {@link expireUnattended}. */
export interface ExpireUnattendedResult {
  /** Score (creation time) to continue after. */
  cursor: number;
  /** Registry records that had no TTL and got one. */
  expired: number;
  /** Runs looked at. */
  seen: number;
}

/**
 * Gives a TTL to registry records that never got one: the gateway and agent users register runs without
 * a TTL (they may not set one, see register-run-1.lua), and the bridge's commit gives one with the first
 * event; a run that never gets an event would stay forever. Walks the run index by creation time after
 * `cursor`, up to runs created at `createdBefore`, at most `limit` runs per call; a record without a TTL
 * gets `ttlMs`. Cost: one ZRANGEBYSCORE, one PTTL per run (pipelined), a PEXPIRE per record fixed.
 */
export async function expireUnattended(
  conn: RedisConnection,
  keys: KeyLayout,
  options: { cursor: number; createdBefore: number; limit: number; ttlMs: number },
): Promise<ExpireUnattendedResult> {
  const flat = await conn.zrangebyscore(
    keys.runsIndex,
    Number.isFinite(options.cursor) ? `(${options.cursor}` : '-inf',
    options.createdBefore,
    'WITHSCORES',
    'LIMIT',
    0,
    options.limit,
  );
  const ids = new Set<string>();
  let cursor = options.cursor;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    ids.add(String(flat[i]));
    cursor = Number(flat[i + 1]);
  }
  // The next call continues after `cursor`: every run created in that same ms is taken now, so none is
  // skipped however many share it.
  if (flat.length / 2 === options.limit) {
    for (const id of await conn.zrangebyscore(keys.runsIndex, cursor, cursor)) ids.add(id);
  }
  return { cursor, ...(await expireWithoutTtl(conn, keys, [...ids], options.ttlMs)) };
}

async function expireWithoutTtl(
  conn: RedisConnection,
  keys: KeyLayout,
  ids: string[],
  ttlMs: number,
): Promise<{ expired: number; seen: number }> {
  const ttls = await Promise.all(ids.map((id) => conn.pttl(keys.runMeta(id))));
  const unattended = ids.filter((_, i) => ttls[i] === -1);
  await Promise.all(unattended.map((id) => conn.pexpire(keys.runMeta(id), ttlMs)));
  return { expired: unattended.length, seen: ids.length };
}
