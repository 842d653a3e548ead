import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AppConfig } from '@agent-bridge/config';
import { type EventEnvelope, type KeyLayout, type RunStatus, StandardEventType } from '@agent-bridge/protocol';
import { type RedisConnection, loadScript, runScript } from '@agent-bridge/redis';
import { encode } from 'notepack.io';
import { RoomPublisher } from './room-publisher';

const LUA_DIR = join(__dirname, '..', '..', 'lua');
const commitScript = loadScript(join(LUA_DIR, 'commit-event-3.lua'));
const zremIfScoreScript = loadScript(join(LUA_DIR, 'zrem-if-score-1.lua'));

/** What the commit script did with an event (or a gap sweep). */
export type CommitOutcome = 'committed' | 'buffered' | 'duplicate' | 'conflict' | 'full' | 'skipped';

/** The decoded reply of `commit-event-3.lua`. */
export interface CommitResult {
  outcome: CommitOutcome;
  headSeq: number;
  epoch: number;
  /** The run still has events waiting in its reorder buffer (a gap before them). */
  hasBuffered: boolean;
  /** Epoch ms since which the head has been blocked (0 when no gap). */
  gapSince: number;
  /** Envelopes to publish, in seq order (for `conflict`: the one already committed at that seq). */
  envelopes: EventEnvelope[];
}

function decode(reply: unknown): CommitResult {
  const r = reply as (string | number)[];
  return {
    outcome: String(r[0]) as CommitOutcome,
    headSeq: Number(r[1]),
    epoch: Number(r[2]),
    hasBuffered: Number(r[3]) === 1,
    gapSince: Number(r[4]),
    envelopes: r.slice(5).map((json) => JSON.parse(String(json)) as EventEnvelope),
  };
}

function runKeys(keys: KeyLayout, runId: string): string[] {
  return [keys.runMeta(runId), keys.runHistory(runId), keys.runPending(runId)];
}

function limits(config: AppConfig): [number, number, number] {
  return [config.events.historyMaxLen, config.events.historyTtlMs, config.events.reorderBufferMax];
}

/** The registry status an event moves its run to, if any. A cancel is an `agent_error` with code `cancelled`. */
export function statusOfEvent(event: Pick<EventEnvelope, 'type' | 'payload'>): RunStatus | '' {
  if (event.type === StandardEventType.AgentCompleted) return 'completed';
  if (event.type === StandardEventType.AgentError) {
    const code = (event.payload as { code?: unknown } | null)?.code;
    return code === 'cancelled' ? 'cancelled' : 'failed';
  }
  return '';
}

/**
 * The envelope as stored (without `epoch`, which the script stamps), members in a fixed order with `id`
 * first: the script relies on that to recognise the committed event id.
 */
export function envelopeBody(event: EventEnvelope): string {
  return JSON.stringify(envelopeObject(event));
}

function envelopeObject(event: EventEnvelope): Omit<EventEnvelope, 'epoch'> {
  const body: Omit<EventEnvelope, 'epoch'> = {
    id: event.id,
    runId: event.runId,
    seq: event.seq,
    type: event.type,
    ts: event.ts,
    payload: event.payload ?? null,
  };
  if (event.traceparent !== undefined) body.traceparent = event.traceparent;
  return body;
}

/** The body map as MessagePack without its header byte, and its number of entries. */
function packedBody(body: Omit<EventEnvelope, 'epoch'>): { entries: Buffer; count: number } {
  const packed = Buffer.from(encode(body) as Uint8Array);
  const header = packed[0] ?? 0;
  // A fixmap (0x80-0x8e): the envelope has at most 7 members before the epoch is added.
  if (header < 0x80 || header > 0x8e) throw new Error('envelope body is not a small MessagePack map');
  return { entries: packed.subarray(1), count: header - 0x80 };
}

function publishArgs(keys: KeyLayout, runId: string): Buffer[] {
  const t = publisherFor(keys).template(runId);
  return [t.prefix, t.suffix, Buffer.from(t.channel)];
}

const publishers = new WeakMap<KeyLayout, RoomPublisher>();
function publisherFor(keys: KeyLayout): RoomPublisher {
  let p = publishers.get(keys);
  if (!p) {
    // Only its message template is used here (no connection needed).
    p = new RoomPublisher(null, keys);
    publishers.set(keys, p);
  }
  return p;
}

/**
 * Commits one event of a run and publishes what it appended to the run's room, in one atomic step
 * (idempotent; see `lua/commit-event-3.lua`).
 */
export async function commitEvent(
  conn: RedisConnection,
  keys: KeyLayout,
  config: AppConfig,
  event: EventEnvelope,
): Promise<CommitResult> {
  const body = envelopeObject(event);
  const { entries, count } = packedBody(body);
  const reply = await runScript(conn, commitScript, runKeys(keys, event.runId), [
    'event',
    event.seq,
    event.id,
    JSON.stringify(body),
    statusOfEvent(event),
    ...limits(config),
    event.runId,
    '',
    '',
    '',
    '',
    entries,
    count,
    ...publishArgs(keys, event.runId),
    '',
  ]);
  return decode(reply);
}

/**
 * Commits several events of ONE run (in the given order, normally consecutive seqs) with one script call:
 * each exactly as {@link commitEvent} would, all in one atomic step (`lua/commit-event-3.lua`, mode
 * `batch`). Returns one result per event, in the same order.
 */
export async function commitEvents(
  conn: RedisConnection,
  keys: KeyLayout,
  config: AppConfig,
  events: readonly EventEnvelope[],
): Promise<CommitResult[]> {
  const first = events[0];
  if (!first) return [];
  if (events.length === 1) return [await commitEvent(conn, keys, config, first)];
  const runId = first.runId;
  const args: (string | number | Buffer)[] = [
    'batch',
    events.length,
    '',
    '',
    '',
    ...limits(config),
    runId,
    '',
    '',
    '',
    '',
    '',
    '',
    ...publishArgs(keys, runId),
    '',
  ];
  for (const event of events) {
    if (event.runId !== runId) throw new Error('commitEvents: events of one run only');
    const body = envelopeObject(event);
    const { entries, count } = packedBody(body);
    args.push(event.seq, event.id, JSON.stringify(body), statusOfEvent(event), entries, count);
  }
  const reply = (await runScript(conn, commitScript, runKeys(keys, runId), args)) as unknown[];
  return reply.map(decode);
}

/** Id prefix of a run's gap events: short, and free of characters BullMQ or Redis Cluster would misread. */
export function gapIdPrefix(runId: string): string {
  return `gap-${createHash('sha1').update(runId).digest('hex').slice(0, 16)}`;
}

/**
 * Commits `gap` events for the missing seqs of a run whose head has been blocked for at least
 * `config.events.gapTimeoutMs`, then releases its buffered events (idempotent: `skipped` when there is
 * nothing overdue).
 */
export async function commitGap(
  conn: RedisConnection,
  keys: KeyLayout,
  config: AppConfig,
  runId: string,
): Promise<CommitResult> {
  const reason = `not received within ${config.events.gapTimeoutMs} ms while later events waited`;
  const reply = await runScript(conn, commitScript, runKeys(keys, runId), [
    'gap',
    0,
    '',
    '',
    '',
    ...limits(config),
    runId,
    config.events.gapTimeoutMs,
    JSON.stringify(reason),
    config.events.gapSweepBatch,
    gapIdPrefix(runId),
    '',
    '',
    ...publishArgs(keys, runId),
    reason,
  ]);
  return decode(reply);
}

/** Removes `runId` from the gapped-runs index only if its score is still `score`. */
export async function removeGappedRun(
  conn: RedisConnection,
  keys: KeyLayout,
  runId: string,
  score: number,
): Promise<boolean> {
  return Number(await runScript(conn, zremIfScoreScript, [keys.gappedRuns], [runId, score])) === 1;
}
