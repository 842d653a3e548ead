import { type RedisServer, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import { Redis } from 'ioredis';
import { ReplicationError, replicated, replicatedWithRetry } from './replication';

/** Guarantee 1.10: a producer write is acknowledged only once a replica holds it (decision 0005). */

afterAll(destroyAllRedis);

describe('replicated writes (REDIS_WAIT_REPLICAS)', () => {
  let master: RedisServer;
  let replica: RedisServer;
  let conn: Redis;
  beforeAll(async () => {
    master = await startRedis();
    replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    await waitFor(
      'replica in sync',
      async () => /master_link_status:up/.test(await replica.cli('info', 'replication')),
      {
        timeoutMs: 20_000,
      },
    );
    conn = new Redis({ port: master.port });
  });
  afterAll(() => conn.disconnect());

  it('resolves with the write once the replica holds it', async () => {
    const result = await replicated(conn, { replicas: 1, timeoutMs: 5_000 }, () => conn.set('k1', 'v1'));
    expect(result).toBe('OK');
    expect(await replica.cli('get', 'k1')).toBe('v1');
  });

  it('throws ReplicationError when no replica confirms in time (frozen replica), and the retry gives up at its deadline', async () => {
    replica.pause();
    try {
      await expect(
        replicated(conn, { replicas: 1, timeoutMs: 200 }, () => conn.set('k2', 'v2')),
      ).rejects.toBeInstanceOf(ReplicationError);
      const started = Date.now();
      await expect(
        replicatedWithRetry(conn, { replicas: 1, timeoutMs: 100 }, 600, () => conn.set('k3', 'v3')),
      ).rejects.toMatchObject({ code: 'UNAVAILABLE', wanted: 1, acked: 0 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    } finally {
      replica.resume();
    }
  });

  it('with 0 replicas wanted it is the bare write (no WAIT)', async () => {
    replica.pause();
    try {
      expect(await replicated(conn, { replicas: 0, timeoutMs: 100 }, () => conn.set('k4', 'v4'))).toBe('OK');
    } finally {
      replica.resume();
    }
  });
});
