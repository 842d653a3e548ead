import { loadConfig } from '@agent-bridge/config';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { RedisCluster, startRedis, startSentinel } from '@agent-bridge/testing';
import { checkCluster, checkNode, redisNodes } from './redis-checks';

describe('doctor on a Redis Cluster', () => {
  it('checks every master, and names a slot no master serves any more', async () => {
    const cluster = await RedisCluster.start(3);
    const config = loadConfig({ env: { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.seeds.join(',') } });
    const conn = createRedis(config, 'command');
    try {
      await conn.ping();
      const nodes = redisNodes(conn);
      expect(nodes).toHaveLength(3);
      const perNode = await Promise.all(nodes.map((n) => checkNode(n, true)));
      expect(perNode.flat().filter((f) => f.check === 'maxmemory-policy' && f.level === 'ok')).toHaveLength(3);
      expect(await checkCluster(conn, config, nodes)).toEqual([
        expect.objectContaining({ check: 'cluster slots', level: 'ok' }),
      ]);

      // The master that owns slot 0 gives it up: nobody serves it now.
      const owner = cluster.nodes[0]!;
      await owner.cli('CLUSTER', 'DELSLOTS', '0');
      const [finding] = await checkCluster(conn, config, nodes);
      expect(finding).toMatchObject({ check: 'cluster slots', level: 'fail' });
      expect(finding?.detail).toMatch(/16383\/16384 slots assigned/);
      expect(finding?.fix).toMatch(/--cluster fix/);
    } finally {
      await closeRedis(conn);
      await cluster.destroy();
    }
  });
});

describe('doctor behind Sentinel', () => {
  it('names the master the Sentinels resolved, not the client defaults (localhost:6379)', async () => {
    const master = await startRedis({ appendOnly: false, args: ['--maxmemory-policy', 'allkeys-lru'] });
    const sentinel = await startSentinel(master);
    const config = loadConfig({
      env: { REDIS_MODE: 'sentinel', REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_SENTINEL_NAME: 'mymaster' },
    });
    const conn = createRedis(config, 'command');
    try {
      await conn.ping();
      const nodes = redisNodes(conn);
      expect(nodes.map((n) => n.label)).toEqual([`127.0.0.1:${master.port}`]);
      const findings = await checkNode(nodes[0]!, false);
      expect(findings.find((f) => f.check === 'redis version')?.detail).toContain(`(127.0.0.1:${master.port})`);
      expect(findings.find((f) => f.check === 'maxmemory-policy')?.level).toBe('fail');
    } finally {
      await closeRedis(conn);
      await sentinel.destroy();
      await master.destroy();
    }
  });
});
