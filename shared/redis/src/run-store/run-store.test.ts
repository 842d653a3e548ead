import { randomUUID } from 'node:crypto';
import { loadConfig } from '@agent-bridge/config';
import { type EventEnvelope, ForbiddenError, keyLayout } from '@agent-bridge/protocol';
import { RedisCluster, type RedisServer, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import { Redis } from 'ioredis';
import {
  type RedisConnection,
  closeRedis,
  createRedis,
  expireUnattended,
  getRun,
  listRuns,
  readHistory,
  registerRun,
  requestCancel,
} from '../index';

afterAll(destroyAllRedis);

function envelope(runId: string, seq: number, epoch: number): EventEnvelope {
  return {
    id: `e-${runId}-${seq}`,
    runId,
    seq,
    epoch,
    type: 'agent_thinking',
    ts: 1000 + seq,
    payload: { delta: `d${seq}` },
  };
}

/** Writes history the way the bridge's commit script does (layout of keys.ts). */
async function writeHistory(conn: RedisConnection, prefix: string, runId: string, seqs: number, epoch: number) {
  const keys = keyLayout(prefix);
  for (let seq = 1; seq <= seqs; seq++) {
    await conn.xadd(keys.runHistory(runId), `${seq}-0`, 'e', JSON.stringify(envelope(runId, seq, epoch)));
  }
  await conn.hset(keys.runMeta(runId), 'headSeq', String(seqs), 'epoch', String(epoch));
}

function suite(name: string, open: () => Promise<{ conn: RedisConnection; close: () => Promise<void> }>) {
  describe(name, () => {
    let conn: RedisConnection;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ conn, close } = await open());
    });
    afterAll(async () => {
      await close();
    });

    it('readHistory pages committed events in seq order with epoch, head and hasMore', async () => {
      const prefix = `t-${randomUUID()}`;
      const keys = keyLayout(prefix);
      const empty = await readHistory(conn, keys, 'run-a', 0, 10);
      expect(empty).toEqual({ epoch: 0, headSeq: 0, status: null, events: [], firstSeq: null, hasMore: false });

      await writeHistory(conn, prefix, 'run-a', 5, 777);
      const p1 = await readHistory(conn, keys, 'run-a', 0, 2);
      expect(p1.events.map((e) => e.seq)).toEqual([1, 2]);
      expect(p1.events[0]).toEqual(envelope('run-a', 1, 777));
      expect(p1).toMatchObject({ epoch: 777, headSeq: 5, firstSeq: 1, hasMore: true });
      const p2 = await readHistory(conn, keys, 'run-a', 2, 3);
      expect(p2.events.map((e) => e.id)).toEqual(['e-run-a-3', 'e-run-a-4', 'e-run-a-5']);
      expect(p2.hasMore).toBe(false);
      const p3 = await readHistory(conn, keys, 'run-a', 5, 3);
      expect(p3.events).toEqual([]);
      expect(p3.hasMore).toBe(false);
      // The status comes in the same snapshot as the head, so a terminal status never precedes its events.
      await conn.hset(keys.runMeta('run-a'), 'status', 'completed');
      expect((await readHistory(conn, keys, 'run-a', 5, 3)).status).toBe('completed');
    });

    it('readHistory reports the oldest retained seq so a reader can tell history was trimmed past it', async () => {
      const prefix = `t-${randomUUID()}`;
      const keys = keyLayout(prefix);
      await writeHistory(conn, prefix, 'run-t', 6, 5);
      await conn.xtrim(keys.runHistory('run-t'), 'MAXLEN', 2);
      const page = await readHistory(conn, keys, 'run-t', 1, 10);
      expect(page.firstSeq).toBe(5);
      expect(page.events.map((e) => e.seq)).toEqual([5, 6]);
    });

    it('registerRun records owner, agent, status and indexes idempotently; another owner is refused', async () => {
      const prefix = `t-${randomUUID()}`;
      const keys = keyLayout(prefix);
      const first = await registerRun(conn, keys, { runId: 'run-1', owner: 'alice', status: 'pending' });
      expect(first.created).toBe(true);
      expect(first.record).toMatchObject({
        runId: 'run-1',
        owner: 'alice',
        agent: '',
        status: 'pending',
        headSeq: 0,
        epoch: 0,
        cancelRequested: false,
      });
      const second = await registerRun(conn, keys, {
        runId: 'run-1',
        owner: 'alice',
        agent: 'planner',
        status: 'running',
      });
      expect(second.created).toBe(false);
      // Written once (HSETNX, what the gateway and agent Redis users may do): a missing agent name is filled
      // in, the status stays until the bridge commits the first event.
      expect(second.record).toMatchObject({ agent: 'planner', status: 'pending', createdAt: first.record.createdAt });
      const third = await registerRun(conn, keys, { runId: 'run-1', owner: 'alice', agent: 'other' });
      expect(third.record).toMatchObject({ agent: 'planner', status: 'pending' });
      await expect(registerRun(conn, keys, { runId: 'run-1', owner: 'mallory' })).rejects.toThrow(ForbiddenError);
      expect((await getRun(conn, keys, 'run-1'))?.owner).toBe('alice');
      expect(await getRun(conn, keys, 'nope')).toBeNull();
      // No TTL from a registration (a user allowed to set one could expire the record and register it again).
      expect(await conn.pttl(keys.runMeta('run-1'))).toBe(-1);
    });

    it('expireUnattended gives records without a TTL one, walking the run index by creation time', async () => {
      const keys = keyLayout(`t-${randomUUID()}`);
      for (const runId of ['u-1', 'u-2', 'u-3']) await registerRun(conn, keys, { runId, owner: 'alice' });
      await conn.pexpire(keys.runMeta('u-2'), 500_000); // as the bridge's commit does
      const all = { createdBefore: Date.now() + 1_000, ttlMs: 60_000 };
      const first = await expireUnattended(conn, keys, { ...all, cursor: Number.NEGATIVE_INFINITY, limit: 2 });
      expect(first.seen).toBeGreaterThanOrEqual(2); // and every run created in the same ms as the second
      const second = await expireUnattended(conn, keys, { ...all, cursor: first.cursor, limit: 2 });
      expect(first.seen + second.seen).toBe(3);
      expect(first.expired + second.expired).toBe(2);
      for (const runId of ['u-1', 'u-3']) {
        const ttl = await conn.pttl(keys.runMeta(runId));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
      expect(await conn.pttl(keys.runMeta('u-2'))).toBeGreaterThan(60_000);
      // Runs newer than createdBefore wait for a later pass.
      await registerRun(conn, keys, { runId: 'u-4', owner: 'alice' });
      const young = await expireUnattended(conn, keys, {
        cursor: second.cursor,
        createdBefore: 0,
        limit: 10,
        ttlMs: 1,
      });
      expect(young.seen).toBe(0);
      expect(await conn.pttl(keys.runMeta('u-4'))).toBe(-1);
    });

    it('registerRun reports the last seq known for a run so a resumed producer continues after it', async () => {
      const prefix = `t-${randomUUID()}`;
      const keys = keyLayout(prefix);
      await writeHistory(conn, prefix, 'run-r', 3, 9);
      await conn.hset(keys.runPending('run-r'), '7', 'x', '5', 'y');
      const res = await registerRun(conn, keys, { runId: 'run-r', owner: 'bob', status: 'running' });
      expect(res.created).toBe(true);
      expect(res.lastKnownSeq).toBe(7);
      expect(res.record).toMatchObject({ headSeq: 3, epoch: 9, status: 'running' });
    });

    it('listRuns lists all runs or one user’s, newest first, skipping expired records', async () => {
      const prefix = `t-${randomUUID()}`;
      const keys = keyLayout(prefix);
      for (const [runId, owner] of [
        ['r1', 'alice'],
        ['r2', 'bob'],
        ['r3', 'alice'],
      ] as const) {
        await registerRun(conn, keys, { runId, owner });
        await new Promise((r) => setTimeout(r, 5));
      }
      expect((await listRuns(conn, keys)).map((r) => r.runId)).toEqual(['r3', 'r2', 'r1']);
      expect((await listRuns(conn, keys, { userId: 'alice' })).map((r) => r.runId)).toEqual(['r3', 'r1']);
      expect((await listRuns(conn, keys, { limit: 1 })).map((r) => r.runId)).toEqual(['r3']);
      await conn.del(keys.runMeta('r3'));
      expect((await listRuns(conn, keys, { userId: 'alice' })).map((r) => r.runId)).toEqual(['r1']);
    });
  });
}

describe('run store', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });

  suite('standalone', () => {
    const conn = createRedis(loadConfig({ env: { REDIS_URL: server.url } }), 'command');
    return Promise.resolve({ conn, close: () => closeRedis(conn) });
  });

  it('requestCancel sets cancelRequested and publishes {"type":"cancel"} on the run control channel', async () => {
    const keys = keyLayout(`t-${randomUUID()}`);
    const conn = new Redis(server.port, '127.0.0.1');
    const sub = new Redis(server.port, '127.0.0.1');
    try {
      expect(await requestCancel(conn, keys, 'run-x')).toBe(false);
      await registerRun(conn, keys, { runId: 'run-x', owner: 'alice', status: 'running' });
      const got: string[] = [];
      sub.on('message', (channel: string, message: string) => got.push(`${channel} ${message}`));
      await sub.subscribe(keys.runControlChannel('run-x'));
      expect(await requestCancel(conn, keys, 'run-x')).toBe(true);
      await waitFor('cancel message', () => got.length === 1);
      expect(got).toEqual([`${keys.runControlChannel('run-x')} {"type":"cancel"}`]);
      expect((await getRun(conn, keys, 'run-x'))?.cancelRequested).toBe(true);
    } finally {
      await Promise.all([closeRedis(conn), closeRedis(sub)]);
    }
  });
});

describe('run store on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
  });
  afterAll(async () => {
    await cluster.destroy();
  });

  suite('cluster', () => {
    const conn = createRedis(
      loadConfig({ env: { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.seeds.join(',') } }),
      'command',
    );
    return Promise.resolve({ conn, close: () => closeRedis(conn) });
  });
});
