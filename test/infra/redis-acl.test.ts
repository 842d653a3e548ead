// infra/redis/users.acl (rendered with passwords by infra/redis/render-acl.sh): each role's Redis user can do what that role does, and no more.
// The real ACL file is loaded into a real redis-server; the operations are the services' own code paths
// (BullMQ queues and workers, run registry, history reads, membership, the ops status reader). The other
// redis-acl-*.test.ts files cover run ownership, server-wide commands and the Socket.IO adapter.
import { randomUUID } from 'node:crypto';
import { silentLogger } from '@agent-bridge/telemetry';
import { MemberHeartbeat, readHistory, registerRun } from '@agent-bridge/redis';
import { DeadLetters, OpsSampler, StatusReader } from '@agent-bridge/ops';
import { waitFor } from '@agent-bridge/testing';
import { Queue, Worker } from 'bullmq';
import { NOPERM, keys, useAclRedis } from './acl-harness';

const h = useAclRedis();

describe('Redis ACL users (infra/redis/users.acl)', () => {
  test('default user: PING only (health checks), no data', async () => {
    expect(await h.redis.cli('PING')).toBe('PONG');
    expect(await h.redis.cli('GET', keys.integrationState)).toMatch(NOPERM);
    expect(await h.redis.cli('FLUSHALL')).toMatch(NOPERM);
  });

  test('bridge: consumes the events queue with a BullMQ worker, commits history, publishes state; no FLUSHALL', async () => {
    const conn = h.connect('bridge');
    const workerConn = h.connect('bridge', 'worker');
    const config = h.configFor('bridge');
    const queue = new Queue(config.queues.events, { connection: conn, prefix: keys.bullPrefix });
    const seen: string[] = [];
    const worker = new Worker(
      config.queues.events,
      (job) => {
        seen.push(job.id ?? '');
        return Promise.resolve();
      },
      { connection: workerConn, prefix: keys.bullPrefix },
    );
    try {
      const id = `acl-${randomUUID().slice(0, 8)}`;
      await queue.add('event', { n: 1 }, { jobId: id });
      await waitFor('worker to process the job', () => seen.includes(id));
      const runId = `acl-run-${randomUUID().slice(0, 8)}`;
      await conn.xadd(keys.runHistory(runId), '1-0', 'e', '{}');
      await conn.set(keys.integrationState, JSON.stringify({ state: 'ACTIVE' }));
      await conn.publish(keys.integrationChannel, '{}');
      expect(await conn.eval("return redis.call('GET', KEYS[1])", 1, keys.integrationState)).toContain('ACTIVE');
      await expect(conn.flushall()).rejects.toThrow(NOPERM);
      await expect(conn.set('other-app:key', '1')).rejects.toThrow(NOPERM);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  test('gateway: registers runs, reads history, heartbeats, enqueues start_run; cannot write history, state or events', async () => {
    const conn = h.connect('gateway');
    const config = h.configFor('gateway');
    const runId = `acl-run-${randomUUID().slice(0, 8)}`;
    const reg = await registerRun(conn, keys, { runId, owner: 'alice', agent: 'demo' });
    expect(reg.created).toBe(true);
    const page = await readHistory(conn, keys, runId, 0, 10);
    expect(page.events).toEqual([]);
    const hb = new MemberHeartbeat({
      connection: conn,
      keys,
      role: 'gateway',
      id: 'gw-acl',
      intervalMs: 1000,
      ttlMs: 5000,
    });
    await hb.start();
    await hb.close();
    const runs = new Queue(config.queues.runs, { connection: conn, prefix: keys.bullPrefix });
    await runs.add('start_run', { runId });
    await runs.close();

    await expect(conn.xadd(keys.runHistory(runId), '1-0', 'e', '{}')).rejects.toThrow(NOPERM);
    await expect(conn.set(keys.integrationState, '{}')).rejects.toThrow(NOPERM);
    await expect(conn.hset(keys.memberRecords('bridge'), 'fake', '{}')).rejects.toThrow(NOPERM);
    const events = new Queue(config.queues.events, { connection: conn, prefix: keys.bullPrefix });
    events.on('error', () => undefined);
    await expect(events.add('event', { n: 1 })).rejects.toThrow(NOPERM);
    await events.close();
  });

  test('agent: registers its run and emits to the events queue; cannot touch history, state or other queues', async () => {
    const conn = h.connect('agent');
    const config = h.configFor('agent');
    const runId = `acl-run-${randomUUID().slice(0, 8)}`;
    await registerRun(conn, keys, { runId, owner: 'bob', agent: 'demo' });
    const events = new Queue(config.queues.events, { connection: conn, prefix: keys.bullPrefix });
    await events.add('event', { runId, seq: 1 }, { jobId: `${runId}-1` });
    await events.close();

    await expect(conn.xadd(keys.runHistory(runId), '1-0', 'e', '{}')).rejects.toThrow(NOPERM);
    await expect(conn.get(keys.integrationState)).rejects.toThrow(NOPERM);
    const control = new Queue(config.queues.control, { connection: conn, prefix: keys.bullPrefix });
    control.on('error', () => undefined);
    await expect(control.add('recover', {})).rejects.toThrow(NOPERM);
    await control.close();
  });

  test('ops: reads the whole status and enqueues to queues (Bull Board, recover); cannot write state or history', async () => {
    const conn = h.connect('ops');
    const config = h.configFor('ops');
    const reader = new StatusReader(config, keys, conn);
    try {
      const status = await reader.status();
      expect(status.queues.map((q) => q.name)).toEqual([
        config.queues.events,
        config.queues.control,
        config.queues.deadLetter,
        config.queues.runs,
      ]);
      const control = new Queue(config.queues.control, { connection: conn, prefix: keys.bullPrefix });
      await control.add('recover', { incidentId: 'acl' }, { jobId: `recover-acl-${randomUUID().slice(0, 8)}` });
      await control.close();
      await expect(conn.set(keys.integrationState, '{}')).rejects.toThrow(NOPERM);
      await expect(conn.xadd(keys.runHistory('x'), '1-0', 'e', '{}')).rejects.toThrow(NOPERM);
      // The chart sampler writes its own ring, and nothing else of the cluster's keys.
      const deadLetters = new DeadLetters(config, keys, conn);
      const sampler = new OpsSampler({ config, keys, conn, reader, deadLetters, logger: silentLogger() });
      try {
        expect(await sampler.sampleOnce()).toBe('written');
        expect(await sampler.ring.since(0)).toHaveLength(1);
        expect((await deadLetters.list()).total).toBeGreaterThanOrEqual(0);
      } finally {
        await sampler.close();
        await deadLetters.close();
      }
    } finally {
      await reader.close();
    }
  });
});
