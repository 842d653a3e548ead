import { randomUUID } from 'node:crypto';
import { type EventEnvelope, InvalidRequestError, type KeyLayout, keyLayout } from '@agent-bridge/protocol';
import { RedisCluster, type RedisServer, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import { Cluster, Redis } from 'ioredis';
import { unpack } from 'msgpackr';
import type { RedisConnection } from '../connections';
import { loadScript, luaFile, runScript } from '../lua';
import {
  CommitRefusedError,
  type CommitLimits,
  type RoomMessage,
  type RunCommitResult,
  commitRunEvents,
} from './commit';
import { type PackedEvent, packEvent } from './event-codec';
import { registerRun } from './registry';

/**
 * The commit script is all or nothing. Redis keeps the writes a script made before it raised an error, so
 * every failure must come before the first write (or leave what the next call repairs). Before this test,
 * an error after the first XADD — a sharded channel outside the run's slot on a Cluster, a malformed event
 * late in a batch, a NOPERM publish — left the event in the history with the head not moved and the
 * released buffered events deleted: the retry then failed on the XADD forever and the buffered events were
 * lost. Here each such call is retried the way the router retries a job, and the run must end with every
 * event committed once, in order, and published.
 */

afterAll(destroyAllRedis);

const limits: CommitLimits = { historyMaxLen: 1_000, historyTtlMs: 600_000, reorderBufferMax: 100 };

function event(runId: string, seq: number): PackedEvent {
  const e: EventEnvelope = { id: `e-${seq}`, runId, seq, epoch: 0, type: 'agent_thinking', ts: seq, payload: {} };
  return packEvent(e);
}

function roomOf(keys: KeyLayout, runId: string, mode: 'classic' | 'sharded'): RoomMessage {
  const channel = mode === 'sharded' ? `${keys.socketIoKey}#/#{run:${runId}}#` : `${keys.socketIoKey}#/#run:${runId}#`;
  // The envelope alone as the message: what the script publishes is then readable as is.
  return { channel, prefix: Buffer.alloc(0), suffix: Buffer.alloc(0), mode };
}

/** The run's three keys as they stand (what a refused call must leave untouched). */
async function snapshot(conn: RedisConnection, keys: KeyLayout, runId: string) {
  const [meta, history, pending] = await Promise.all([
    conn.hgetall(keys.runMeta(runId)),
    conn.xrange(keys.runHistory(runId), '-', '+'),
    conn.hgetallBuffer(keys.runPending(runId)), // MessagePack inside: not UTF-8
  ]);
  return { meta, history, pending };
}

/** The value, or the error's message (a test then shows what happened instead of stopping at the throw). */
function settle<T>(p: Promise<T>): Promise<T | string> {
  return p.catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
}

/** Events a settled commit appended (and so published). */
function appendedBy(r: RunCommitResult | string): number {
  return typeof r === 'string' ? 0 : r.events.reduce((n, e) => n + e.appended, 0);
}

async function historySeqs(conn: RedisConnection, keys: KeyLayout, runId: string): Promise<number[]> {
  const entries = await conn.xrange(keys.runHistory(runId), '-', '+');
  return entries.map(([, fields]) => (JSON.parse(fields[1]!) as EventEnvelope).seq);
}

/**
 * The retry of seq 1, as the router retries a job, after a refused call: 1 releases the buffered 2 and 3, all
 * three are appended and published once, in order, with nothing adopted (the refusal wrote nothing).
 */
async function expectRetryCommitsAll(
  conn: RedisConnection,
  keys: KeyLayout,
  room: RoomMessage,
  runId: string,
  got: number[],
): Promise<void> {
  const retry = await settle(commitRunEvents(conn, keys, limits, room, runId, [event(runId, 1)]));
  await waitFor('its publishes', () => got.length >= appendedBy(retry));
  expect({ retry, history: await historySeqs(conn, keys, runId), published: got }).toEqual({
    retry: expect.objectContaining({ headSeq: 3, hasBuffered: false, adopted: 0 }) as unknown,
    history: [1, 2, 3],
    published: [1, 2, 3],
  });
  expect(retry).toMatchObject({ events: [{ outcome: 'committed', appended: 3, envelopes: [] }] });
}

/** A run registered with seqs 2 and 3 waiting in its reorder buffer: seq 1 releases them. */
async function runWithBuffered(conn: RedisConnection, mode: 'classic' | 'sharded') {
  const keys = keyLayout(`t-${randomUUID().slice(0, 8)}`);
  const runId = `r-${randomUUID().slice(0, 8)}`;
  const room = roomOf(keys, runId, mode);
  await registerRun(conn, keys, { runId, owner: 'u1', status: 'running' });
  const buffered = await commitRunEvents(conn, keys, limits, room, runId, [event(runId, 2), event(runId, 3)]);
  expect(buffered.events.map((e) => e.outcome)).toEqual(['buffered', 'buffered']);
  return { keys, runId, room };
}

describe('commit script on a standalone Redis', () => {
  let server: RedisServer;
  let conn: Redis;
  let sub: Redis;
  const got: number[] = [];
  beforeAll(async () => {
    server = await startRedis();
    conn = new Redis(server.port, '127.0.0.1');
    sub = new Redis(server.port, '127.0.0.1');
    // Classic messages are the envelope as a MessagePack map (the room message has no bytes around it here).
    sub.on('pmessageBuffer', (_p: Buffer, _c: Buffer, message: Buffer) => {
      got.push((unpack(message) as EventEnvelope).seq);
    });
    await sub.psubscribe('*');
  });
  afterAll(async () => {
    sub.disconnect();
    conn.disconnect();
    await server.destroy();
  });

  type Snapshot = Awaited<ReturnType<typeof snapshot>>;
  type Undo = (runId: string, keys: KeyLayout, before: Snapshot) => Promise<unknown>;
  const bad: [string, (runId: string, keys: KeyLayout) => Promise<unknown>, RegExp, Undo | null][] = [
    [
      'a malformed event after a valid one in the same batch',
      (runId, keys) =>
        commitRunEvents(conn, keys, limits, roomOf(keys, runId, 'classic'), runId, [
          event(runId, 1),
          { ...event(runId, 4), seq: '4' as unknown as number },
        ]),
      /event 2: seq must be an integer/,
      null,
    ],
    [
      'a JSON body that is not an envelope',
      (runId, keys) =>
        commitRunEvents(conn, keys, limits, roomOf(keys, runId, 'classic'), runId, [
          { ...event(runId, 1), json: '[]' },
        ]),
      /JSON body must start with/,
      null,
    ],
    [
      'a history length that is not an integer',
      (runId, keys) =>
        commitRunEvents(conn, keys, { ...limits, historyMaxLen: Number.NaN }, roomOf(keys, runId, 'classic'), runId, [
          event(runId, 1),
        ]),
      /historyMaxLen must be an integer/,
      null,
    ],
    [
      'a TTL of 0 (PEXPIRE 0 deletes the run)',
      (runId, keys) =>
        commitRunEvents(conn, keys, { ...limits, historyTtlMs: 0 }, roomOf(keys, runId, 'classic'), runId, [
          event(runId, 1),
        ]),
      /ttlMs must be an integer >= 1/,
      null,
    ],
    [
      'a sharded channel without the run’s hash tag',
      (runId, keys) =>
        commitRunEvents(conn, keys, limits, { ...roomOf(keys, runId, 'classic'), mode: 'sharded' }, runId, [
          event(runId, 1),
        ]),
      /outside the slot of the run/,
      null,
    ],
    [
      'a corrupt reorder-buffer entry',
      async (runId, keys) => {
        await conn.hset(keys.runPending(runId), '3', 'garbage');
        return commitRunEvents(conn, keys, limits, roomOf(keys, runId, 'classic'), runId, [event(runId, 1)]);
      },
      /buffered seq 3 is corrupt/,
      (runId, keys, before) => conn.hset(keys.runPending(runId), '3', before.pending['3']!),
    ],
    [
      'a history key of another type',
      async (runId, keys) => {
        await conn.set(keys.runHistory(runId), 'x');
        return commitRunEvents(conn, keys, limits, roomOf(keys, runId, 'classic'), runId, [event(runId, 1)]);
      },
      /history: WRONGTYPE/,
      (runId, keys) => conn.del(keys.runHistory(runId)),
    ],
  ];

  it.each(bad)(
    'refuses %s with nothing written, and the retry commits every event once, in order',
    async (_, call, reason, undo) => {
      const { keys, runId, room } = await runWithBuffered(conn, 'classic');
      const before = await snapshot(conn, keys, runId);
      got.length = 0;
      const err = await call(runId, keys).catch((e: unknown) => e);
      await undo?.(runId, keys, before);
      const left = await snapshot(conn, keys, runId);

      // The retry, as the router retries a job: first what a lost or stuck event would show.
      await expectRetryCommitsAll(conn, keys, room, runId, got);
      // Then the refusal itself: typed, and nothing written.
      expect(left).toEqual(before);
      expect(err).toBeInstanceOf(CommitRefusedError);
      expect((err as CommitRefusedError).reason).toMatch(reason);
    },
  );

  it('a seq twice in one call: the second is a duplicate of what the first appended in the same call', async () => {
    const { keys, runId, room } = await runWithBuffered(conn, 'classic');
    got.length = 0;
    const res = await commitRunEvents(conn, keys, limits, room, runId, [event(runId, 1), event(runId, 1)]);
    expect(res.events.map((e) => [e.outcome, e.appended, e.envelopes.map((x) => x.seq)])).toEqual([
      ['committed', 3, []],
      ['duplicate', 0, [1, 2, 3]],
    ]);
    expect(await historySeqs(conn, keys, runId)).toEqual([1, 2, 3]);
    await waitFor('3 publishes', () => got.length >= 3);
    expect(got).toEqual([1, 2, 3]);
  });

  it('register-run: missing arguments write nothing; a record a stopped call left without status is completed by the retry', async () => {
    const keys = keyLayout(`t-${randomUUID().slice(0, 8)}`);
    const meta = keys.runMeta('run-p');
    const script = loadScript(luaFile('register-run-1.lua'));
    await expect(runScript(conn, script, [meta], ['run-p', 'u1', ''])).rejects.toThrow(
      /REGISTERREFUSED ARGV\[4\] missing/,
    );
    expect(await conn.exists(meta)).toBe(0);
    await expect(registerRun(conn, keys, { runId: 'run-p', owner: '' })).rejects.toThrow(InvalidRequestError);
    // What an earlier version left when it failed after its first writes: owner set, no status.
    await conn.hset(meta, 'runId', 'run-p', 'owner', 'u1', 'createdAt', '5');
    const again = await registerRun(conn, keys, { runId: 'run-p', owner: 'u1', status: 'running' });
    expect(again.created).toBe(false);
    expect(await conn.hmget(meta, 'status', 'headSeq', 'createdAt')).toEqual(['running', '0', '5']);
    expect(Number(await conn.hget(meta, 'updatedAt'))).toBeGreaterThan(0);
  });

  it('a publish the ACL refuses after the XADD: the next call adopts the entry and releases the buffer, nothing lost', async () => {
    await conn.call('ACL', 'SETUSER', 'bridge', 'on', '>pw', '~*', '+@all', 'resetchannels');
    const bridge = new Redis({ port: server.port, host: '127.0.0.1', username: 'bridge', password: 'pw' });
    try {
      const { keys, runId, room } = await runWithBuffered(bridge, 'classic');
      // NOPERM on PUBLISH: no script can test an ACL before writing, so this failure comes after the XADD.
      const failed = await settle(commitRunEvents(bridge, keys, limits, room, runId, [event(runId, 1)]));
      const left = { history: await historySeqs(conn, keys, runId), buffered: await conn.hlen(keys.runPending(runId)) };

      await conn.call('ACL', 'SETUSER', 'bridge', 'allchannels');
      got.length = 0;
      const retry = await settle(commitRunEvents(bridge, keys, limits, room, runId, [event(runId, 1)]));
      await waitFor('its publishes', () => got.length >= appendedBy(retry));
      expect({ retry, history: await historySeqs(conn, keys, runId), published: got }).toEqual({
        retry: expect.objectContaining({ headSeq: 3, hasBuffered: false, adopted: 1 }) as unknown,
        history: [1, 2, 3],
        // 2 and 3 by the script; seq 1 is now a duplicate, returned for the router to re-publish.
        published: [2, 3],
      });
      expect(retry).toMatchObject({
        events: [{ outcome: 'duplicate', envelopes: [expect.objectContaining({ seq: 1 })] }],
      });
      expect(await conn.hlen(keys.runPending(runId))).toBe(0);
      expect(await conn.hget(keys.runMeta(runId), 'headSeq')).toBe('3');
      expect(await commitRunEvents(bridge, keys, limits, room, runId, [event(runId, 4)])).toMatchObject({
        headSeq: 4,
        adopted: 0,
      });
      // The failed call: its XADD stays (Redis keeps a script's writes), the buffer is changed only after them.
      expect(failed).toMatch(/NOPERM|No permissions|can't publish/);
      expect(left).toEqual({ history: [1], buffered: 2 });
    } finally {
      bridge.disconnect();
    }
  });
});

describe('commit script on a 3-master Redis Cluster (sharded Pub/Sub)', () => {
  let cluster: RedisCluster;
  let conn: Cluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
    conn = new Cluster(cluster.seeds.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) })));
  });
  afterAll(async () => {
    conn.disconnect();
    await cluster.destroy();
  });

  /** `host:port` of the master serving `key` (a key or a shard channel). */
  async function nodeOf(key: string): Promise<string> {
    const slot = Number(await conn.call('CLUSTER', 'KEYSLOT', key));
    return conn.slots[slot]![0]!;
  }

  it('a channel outside the run’s slot is refused before the XADD; the retry on the right channel delivers 1, 2, 3 once, in order', async () => {
    const { keys, runId, room } = await runWithBuffered(conn, 'sharded');
    const home = await nodeOf(keys.runMeta(runId));
    // Channels of the adapter's kind in other slots: one on another master (SPUBLISH in the script fails
    // there, 'non local key', as the bench:partitions stall showed) and one on the run's own master (Redis
    // 7.0 lets that SPUBLISH through, to a channel no gateway of the run listens on).
    const elsewhere: Record<'other' | 'same', string | undefined> = { other: undefined, same: undefined };
    for (let i = 0; !elsewhere.other || !elsewhere.same; i++) {
      const channel = `${keys.socketIoKey}#/#${i}#`;
      elsewhere[(await nodeOf(channel)) === home ? 'same' : 'other'] ??= channel;
    }
    const got: number[] = [];
    const sub = new Redis(Number(home.split(':')[1]), '127.0.0.1');
    try {
      sub.on('smessage', (_c: string, m: string) => got.push((JSON.parse(m) as EventEnvelope).seq));
      await sub.ssubscribe(room.channel);
      const before = await snapshot(conn, keys, runId);
      const errors: unknown[] = [];
      for (const channel of [elsewhere.other, elsewhere.same]) {
        errors.push(
          await commitRunEvents(conn, keys, limits, { ...room, channel }, runId, [event(runId, 1)]).catch(
            (e: unknown) => e,
          ),
        );
      }
      const left = await snapshot(conn, keys, runId);

      await expectRetryCommitsAll(conn, keys, room, runId, got);
      expect(left).toEqual(before);
      for (const err of errors) expect(err).toBeInstanceOf(CommitRefusedError);
    } finally {
      sub.disconnect();
    }
  });
});
