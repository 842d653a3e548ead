import { randomUUID } from 'node:crypto';
import { loadConfig } from '@agent-bridge/config';
import { IntegrationStateReader } from '@agent-bridge/control-plane';
import { FencedError, IllegalStateError, type StateTransition, keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { RedisCluster, sleep, startRedis, useRedis, waitFor } from '@agent-bridge/testing';
import type { Redis } from 'ioredis';
import { IntegrationStateStore } from '../integration/state-store';
import { FencingStore } from './fencing';

const redis = useRedis((url) => createRedis(loadConfig({ env: { REDIS_URL: url } }), 'command'), closeRedis);

describe('fencing epochs (data Redis is the authority)', () => {
  it('issues strictly increasing epochs, one live record at a time, and only while the lease key holds our token', async () => {
    const keys = keyLayout(`t-${randomUUID()}`);
    const f = new FencingStore(redis.conn, keys);
    await redis.conn.set(keys.leaderLease, 'tok-a');
    expect(await f.issueEpoch('a', 'tok-a', 10_000, true)).toEqual({ ok: true, epoch: 1 });
    // Another replica, even one holding a (broken) lease token, cannot take an epoch while a's record lives.
    await redis.conn.set(keys.leaderLease, 'tok-b');
    const held = await f.issueEpoch('b', 'tok-b', 10_000, true);
    expect(held).toMatchObject({ ok: false, reason: 'held', holderId: 'a', holderEpoch: 1 });
    // The lease key must hold the caller's token.
    await f.resign('tok-a', '{}');
    expect(await f.issueEpoch('c', 'tok-c', 10_000, true)).toEqual({ ok: false, reason: 'lease-lost' });
    expect(await f.issueEpoch('b', 'tok-b', 10_000, true)).toEqual({ ok: true, epoch: 2 });
    expect(await f.current()).toMatchObject({ id: 'b', epoch: 2 });
    await f.resign('tok-b', '{}');
    expect(await f.issueEpoch('a', 'tok-a2', 10_000, false)).toEqual({ ok: true, epoch: 3 });
    expect(await f.lastEpoch()).toBe(3);
  });

  it('rejects writes and record refreshes of a stale epoch with FencedError naming the current epoch', async () => {
    const keys = keyLayout(`t-${randomUUID()}`);
    const f = new FencingStore(redis.conn, keys);
    expect(await f.issueEpoch('a', 'tok-a', 200, false)).toEqual({ ok: true, epoch: 1 });
    await f.write(1, { mode: 'set', key: keys.integrationHealth, value: 'v1' });
    expect(await redis.conn.get(keys.integrationHealth)).toBe('v1');
    // a is paused past its TTL; b takes over.
    await sleep(300);
    expect(await f.issueEpoch('b', 'tok-b', 10_000, false)).toEqual({ ok: true, epoch: 2 });
    const err = await f.write(1, { mode: 'set', key: keys.integrationHealth, value: 'stale' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencedError);
    expect(err).toMatchObject({ epoch: 1, currentEpoch: 2, code: 'FENCED' });
    expect(await redis.conn.get(keys.integrationHealth)).toBe('v1');
    expect(await f.extendRecord('tok-a', 1, 10_000)).toBe(false);
    expect(await f.extendRecord('tok-b', 2, 10_000)).toBe(true);
    await expect(f.removeDeadMembers(1, 'bridge')).rejects.toThrow(FencedError);
    expect(await f.removeDeadMembers(2, 'bridge')).toEqual([]);
    // With no live record at all, even the last epoch is fenced.
    await f.resign('tok-b', '{}');
    await expect(f.write(2, { mode: 'lpush', key: keys.recoveryLog, value: 'x', cap: 5 })).rejects.toMatchObject({
      currentEpoch: 2,
    });
    expect(await redis.conn.llen(keys.recoveryLog)).toBe(0);
  });

  it('transitions: legal ones only, CAS on the expected state, history capped, watchers notified', async () => {
    const keys = keyLayout(`t-${randomUUID()}`);
    const f = new FencingStore(redis.conn, keys);
    const store = new IntegrationStateStore(redis.conn, keys, 3);
    const reader = new IntegrationStateReader({ connection: redis.conn, keys });
    const seen: StateTransition[] = [];
    await reader.watch((t) => seen.push(t));
    try {
      const { epoch } = (await f.issueEpoch('a', 'tok', 10_000, false)) as { epoch: number };
      await expect(store.transition(epoch, 'a', 'UNINITIALIZED', 'ACTIVE', 'x', [])).rejects.toThrow(IllegalStateError);
      await store.transition(epoch, 'a', 'UNINITIALIZED', 'INITIALIZING', 'start', []);
      await expect(store.transition(epoch, 'a', 'UNINITIALIZED', 'INITIALIZING', 'again', [])).rejects.toThrow(
        /cannot transition from UNINITIALIZED to INITIALIZING while INITIALIZING/,
      );
      expect(await store.transition(epoch, 'a', 'INITIALIZING', 'INITIALIZING', 'same', [])).toBeNull();
      await store.transition(epoch, 'a', 'INITIALIZING', 'ACTIVE', 'ok', []);
      await store.transition(epoch, 'a', 'ACTIVE', 'DEGRADED', 'lag', []);
      await store.transition(epoch, 'a', 'DEGRADED', 'FAILED', 'down', []);
      await expect(store.transition(epoch + 1, 'z', 'FAILED', 'ACTIVE', 'stale', [])).rejects.toThrow(FencedError);
      expect((await reader.current()).state).toBe('FAILED');
      expect((await reader.history(10)).map((t) => t.to)).toEqual(['FAILED', 'DEGRADED', 'ACTIVE']);
      await waitFor('4 notifications', () => seen.length === 4);
      expect(seen.map((t) => `${t.from}>${t.to}@${t.epoch}`)).toEqual([
        'UNINITIALIZED>INITIALIZING@1',
        'INITIALIZING>ACTIVE@1',
        'ACTIVE>DEGRADED@1',
        'DEGRADED>FAILED@1',
      ]);
    } finally {
      await reader.close();
    }
  });
});

describe('Lua scripts on Redis Cluster (one hash tag per script)', () => {
  it('issues epochs, writes fenced state and removes dead members through a Cluster client', async () => {
    const cluster = await RedisCluster.start(3);
    const cconn = createRedis(
      loadConfig({ env: { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.seeds.join(',') } }),
      'command',
    );
    try {
      const keys = keyLayout(`t-${randomUUID()}`);
      const f = new FencingStore(cconn, keys);
      const store = new IntegrationStateStore(cconn, keys, 10);
      await cconn.set(keys.leaderLease, 'tok');
      expect(await f.issueEpoch('a', 'tok', 10_000, true)).toEqual({ ok: true, epoch: 1 });
      await store.transition(1, 'a', 'UNINITIALIZED', 'INITIALIZING', 'start', []);
      await cconn.zadd(keys.members('gateway'), 1, 'dead-gw');
      await cconn.hset(keys.memberRecords('gateway'), 'dead-gw', '{}');
      expect(await f.removeDeadMembers(1, 'gateway')).toEqual(['dead-gw']);
      expect(JSON.parse((await cconn.get(keys.integrationState)) ?? '{}')).toMatchObject({
        state: 'INITIALIZING',
        epoch: 1,
      });
    } finally {
      await closeRedis(cconn);
      await cluster.destroy();
    }
  });
});

describe('fencing epochs across a master change (guarantee 2.2)', () => {
  it('a promoted replica that missed the last epochs issues one above every epoch the old master issued', async () => {
    const master = await startRedis();
    const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    const a = createRedis(loadConfig({ env: { REDIS_URL: master.url } }), 'command');
    const b = createRedis(loadConfig({ env: { REDIS_URL: replica.url } }), 'command');
    try {
      await waitFor(
        'replica in sync',
        async () => /master_link_status:up/.test(await replica.cli('info', 'replication')),
        {
          timeoutMs: 20_000,
        },
      );
      const keys = keyLayout(`t-${randomUUID()}`);
      const onA = new FencingStore(a, keys);
      expect(await onA.issueEpoch('a', 'tok-a', 10_000, false)).toEqual({ ok: true, epoch: 1 });
      await onA.resign('tok-a', '{}');
      expect(await (a as Redis).wait(1, 5_000)).toBe(1);
      // The replica is promoted; the demoted master still issues epochs its successor never gets.
      await replica.cli('replicaof', 'no', 'one');
      const issuedOnA: number[] = [];
      for (const t of ['tok-b', 'tok-c']) {
        const r = await onA.issueEpoch(t, t, 10_000, false);
        if (!r.ok) throw new Error('not issued');
        issuedOnA.push(r.epoch);
        await onA.resign(t, '{}');
      }
      expect(issuedOnA).toEqual([2, 3]);
      const onB = new FencingStore(b, keys);
      expect(await onB.lastEpoch()).toBe(1); // the counter went back
      const next = await onB.issueEpoch('d', 'tok-d', 10_000, false);
      if (!next.ok) throw new Error('not issued');
      expect(next.epoch).toBeGreaterThan(3);
      await onB.resign('tok-d', '{}');
      // Then plain increments again on the same master.
      expect(await onB.issueEpoch('e', 'tok-e', 10_000, false)).toEqual({ ok: true, epoch: next.epoch + 1 });
    } finally {
      await closeRedis(a);
      await closeRedis(b);
      await replica.destroy();
      await master.destroy();
    }
  });
});
