import { loadConfig } from '@agent-bridge/config';
import { RedisCluster, destroyAllRedis } from '@agent-bridge/testing';
import { RedisSetupError, checkRedis, closeRedis, createRedis } from './index';

afterAll(destroyAllRedis);

describe('checkRedis on a Redis Cluster', () => {
  it('checks every master and names the one with a bad maxmemory-policy', async () => {
    const cluster = await RedisCluster.start(3);
    const config = loadConfig({ env: { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.seeds.join(',') } });
    const conn = createRedis(config, 'command');
    try {
      const ok = await checkRedis(conn, config);
      expect(ok.topology.masters).toHaveLength(3);
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
