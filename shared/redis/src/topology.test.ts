import { loadConfig } from '@agent-bridge/config';
import { RedisCluster, destroyAllRedis, startRedis, startSentinel } from '@agent-bridge/testing';
import { RedisSetupError, checkRedis, closeRedis, createRedis, describeTopology } from './index';

afterAll(destroyAllRedis);

describe('checkRedis on a Redis Cluster', () => {
  it('checks every master and names the one with a bad maxmemory-policy', async () => {
    const cluster = await RedisCluster.start(3);
    const config = loadConfig({ env: { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.seeds.join(',') } });
    const conn = createRedis(config, 'command');
    try {
      const ok = await checkRedis(conn, config);
      expect(ok.topology.masters).toHaveLength(3);
      // Slot coverage for /status and the banner: every slot served, split over the three masters.
      expect(ok.topology.slotsCovered).toBe(16_384);
      expect(ok.topology.masters.reduce((n, m) => n + (m.slots ?? 0), 0)).toBe(16_384);
      expect(ok.topology.masters.every((m) => (m.slots ?? 0) > 5_000)).toBe(true);
      expect(describeTopology(ok.topology)).toContain('16384/16384 slots covered');
      // The third master, not the first one the old check looked at.
      const bad = ok.topology.masters[2]!.address;
      const node = cluster.nodes.find((n) => bad.endsWith(`:${n.port}`))!;
      await node.cli('config', 'set', 'maxmemory-policy', 'allkeys-lru');
      const err = await checkRedis(conn, config).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisSetupError);
      expect((err as Error).message).toContain(`"allkeys-lru" on master ${bad} (of 3)`);
    } finally {
      await closeRedis(conn);
      await cluster.destroy();
    }
  });
});

describe('checkRedis through Sentinel', () => {
  it('checks the master the Sentinels resolved: allkeys-lru there is refused and the master named', async () => {
    const master = await startRedis();
    const sentinel = await startSentinel(master, 'topo', 1);
    const config = loadConfig({
      env: { REDIS_MODE: 'sentinel', REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_SENTINEL_NAME: 'topo' },
    });
    const conn = createRedis(config, 'command');
    try {
      const ok = await checkRedis(conn, config);
      expect(ok.topology).toMatchObject({ mode: 'sentinel', sentinelName: 'topo', slotsCovered: null });
      expect(ok.topology.masters.map((m) => m.address)).toEqual([`127.0.0.1:${master.port}`]);
      expect(describeTopology(ok.topology)).toContain('1 sentinels watching "topo"');
      await master.cli('config', 'set', 'maxmemory-policy', 'allkeys-lru');
      const err = await checkRedis(conn, config).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisSetupError);
      expect((err as Error).message).toContain(`"allkeys-lru" on 127.0.0.1:${master.port}`);
    } finally {
      await closeRedis(conn);
      await sentinel.destroy();
      await master.destroy();
    }
  });
});
