import { randomUUID } from 'node:crypto';
import { type EventEnvelope, keyLayout } from '@agent-bridge/protocol';
import { type RedisServer, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import { Redis } from 'ioredis';
import { RunStore } from './run-store';

/**
 * Guarantee 1.10 at the store: a run written on a master whose acknowledged writes were lost by a
 * promotion (the replica never got them) must not get `gap` markers silently standing where clients saw
 * events. Real servers: a master and its replica; the replica is promoted while the old master keeps
 * accepting writes (as a demoted master does until Sentinel reconfigures it).
 */

afterAll(destroyAllRedis);

const limits = { historyMaxLen: 1_000, historyTtlMs: 600_000, reorderBufferMax: 100 };
const room = { channel: 'test-room', prefix: Buffer.alloc(0), suffix: Buffer.alloc(0) };

function event(runId: string, seq: number): EventEnvelope {
  return { id: `e-${runId}-${seq}`, runId, seq, epoch: 0, type: 'agent_thinking', ts: 1_000 + seq, payload: {} };
}

async function replicaOf(master: RedisServer): Promise<RedisServer> {
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  await waitFor('replica in sync', async () => /master_link_status:up/.test(await replica.cli('info', 'replication')), {
    timeoutMs: 20_000,
  });
  return replica;
}

describe('run history across a master change (guarantee 1.10)', () => {
  let master: RedisServer;
  let replica: RedisServer;
  let a: Redis;
  let b: Redis;
  beforeEach(async () => {
    master = await startRedis();
    replica = await replicaOf(master);
    a = new Redis({ port: master.port, lazyConnect: false });
    b = new Redis({ port: replica.port, lazyConnect: false });
  });
  afterEach(async () => {
    a.disconnect();
    b.disconnect();
    await replica.destroy();
    await master.destroy();
  });

  async function setup(conn: Redis, prefix: string, runId: string): Promise<RunStore> {
    const store = new RunStore({ connection: conn, keys: keyLayout(prefix), limits, roomMessage: () => room });
    await store.register({ runId, owner: 'u1', agent: 'test', status: 'running' });
    return store;
  }

  it('a hole left by writes the promoted replica never got is swept into a NEW epoch, never gap markers under the epoch clients saw', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const runId = 'run-lost';
    const onA = await setup(a, prefix, runId);
    for (const seq of [1, 2, 3]) await onA.commit(runId, [onA.pack(event(runId, seq))]);
    expect(await a.wait(1, 5_000)).toBe(1); // 1..3 are on the replica
    const seen = await onA.readHistory(runId, 0, 10);

    // Promotion: the replica becomes a master of its own; the old master still takes writes, which are lost.
    await b.call('REPLICAOF', 'NO', 'ONE');
    for (const seq of [4, 5]) await onA.commit(runId, [onA.pack(event(runId, seq))]);
    expect((await onA.readHistory(runId, 0, 10)).headSeq).toBe(5); // what live viewers were sent

    // On the new master the producer goes on with seq 6: 4 and 5 are missing for good.
    const onB = new RunStore({ connection: b, keys: keyLayout(prefix), limits, roomMessage: () => room });
    const buffered = await onB.commit(runId, [onB.pack(event(runId, 6))]);
    expect(buffered.events[0]?.outcome).toBe('buffered');
    expect(buffered.headSeq).toBe(3);
    const swept = await onB.sweepGap(runId, { gapTimeoutMs: 0, most: 100 });
    expect(swept).toMatchObject({ outcome: 'committed', gapEvents: 2, previousEpoch: seen.epoch });
    expect(swept.epoch).toBeGreaterThan(seen.epoch);

    const after = await onB.readHistory(runId, 0, 10);
    expect(after.epoch).toBe(swept.epoch);
    // The markers and what follows them carry the new epoch: a client holding seq 5 of the old epoch is
    // told recovered:false (docs/protocol.md), not handed a gap as if it were the event it saw.
    expect(after.events.filter((e) => e.seq >= 4).map((e) => [e.seq, e.type, e.epoch])).toEqual([
      [4, 'gap', swept.epoch],
      [5, 'gap', swept.epoch],
      [6, 'agent_thinking', swept.epoch],
    ]);

    // Once per crossing: a later hole on the same master is an ordinary gap in the new epoch.
    await onB.commit(runId, [onB.pack(event(runId, 8))]);
    const again = await onB.sweepGap(runId, { gapTimeoutMs: 0, most: 100 });
    expect(again).toMatchObject({ outcome: 'committed', gapEvents: 1, previousEpoch: 0, epoch: swept.epoch });
  });

  it('without a master change the gap sweep keeps the epoch', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const runId = 'run-plain';
    const onA = await setup(a, prefix, runId);
    await onA.commit(runId, [onA.pack(event(runId, 1))]);
    const epoch = (await onA.readHistory(runId, 0, 1)).epoch;
    await onA.commit(runId, [onA.pack(event(runId, 3))]);
    const swept = await onA.sweepGap(runId, { gapTimeoutMs: 0, most: 100 });
    expect(swept).toMatchObject({ outcome: 'committed', gapEvents: 1, previousEpoch: 0, epoch });
  });

  it('reads the replication id only where it gives an epoch or sweeps a gap, never per commit (decision 0005)', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const runId = 'run-hot';
    const onA = await setup(a, prefix, runId);
    const infoCalls = async (): Promise<number> =>
      Number(/cmdstat_info:calls=(\d+)/.exec(await a.info('commandstats'))?.[1] ?? 0);
    await a.config('RESETSTAT');
    await onA.commit(runId, [onA.pack(event(runId, 1))]); // gives the epoch: one INFO
    await onA.commit(runId, [onA.pack(event(runId, 2)), onA.pack(event(runId, 3))]);
    for (let seq = 4; seq <= 20; seq++) await onA.commit(runId, [onA.pack(event(runId, seq))]);
    await onA.commit(runId, [onA.pack(event(runId, 22))]); // buffered
    await onA.commit(runId, [onA.pack(event(runId, 5))]); // duplicate
    // The first INFO read here is counted once it has answered: every other call so far was a script's.
    expect(await infoCalls()).toBe(1);
    await onA.sweepGap(runId, { gapTimeoutMs: 0, most: 100 });
    expect(await infoCalls()).toBe(1 + 1 + 1); // the epoch's, our read above, and the sweep's
  });

  it('a run whose events all reach the promoted replica keeps its epoch and commits on', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const runId = 'run-kept';
    const onA = await setup(a, prefix, runId);
    for (const seq of [1, 2]) await onA.commit(runId, [onA.pack(event(runId, seq))]);
    expect(await a.wait(1, 5_000)).toBe(1);
    const epoch = (await onA.readHistory(runId, 0, 1)).epoch;
    await b.call('REPLICAOF', 'NO', 'ONE');
    const onB = new RunStore({ connection: b, keys: keyLayout(prefix), limits, roomMessage: () => room });
    const r = await onB.commit(runId, [onB.pack(event(runId, 3))]);
    expect(r).toMatchObject({ headSeq: 3, epoch });
    expect((await onB.readHistory(runId, 0, 10)).events.map((e) => [e.seq, e.epoch])).toEqual([
      [1, epoch],
      [2, epoch],
      [3, epoch],
    ]);
  });
});
