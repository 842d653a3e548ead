import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type KeyLayout, keyLayout } from '@agent-bridge/protocol';
import { MemberHeartbeat, type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { DeliveryStats, silentLogger } from '@agent-bridge/telemetry';
import { type RedisServer, startRedis } from '@agent-bridge/testing';
import { DeadLetters } from '../dlq/dead-letters';
import { StatusReader } from '../status/status-reader';
import { OpsSampler } from './sampler';

let redis: RedisServer | undefined;
let conn: RedisConnection | undefined;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  if (conn) await closeRedis(conn);
  await redis?.destroy();
});

interface Replica {
  sampler: OpsSampler;
  close(): Promise<void>;
}

/** One ops replica's sampler (its own reader and DLQ objects) on the shared test connection. */
function replica(config: AppConfig, keys: KeyLayout, window: { intervalMs?: number; windowMs?: number } = {}): Replica {
  const reader = new StatusReader(config, keys, conn!);
  const deadLetters = new DeadLetters(config, keys, conn!);
  const sampler = new OpsSampler({ config, keys, conn: conn!, reader, deadLetters, logger: silentLogger(), ...window });
  return {
    sampler,
    close: async () => {
      await sampler.close();
      await Promise.all([reader.close(), deadLetters.close()]);
    },
  };
}

function setup(): { config: AppConfig; keys: KeyLayout } {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    env: {},
    overrides: { REDIS_URL: redis!.url, AB_KEY_PREFIX: prefix, AB_OPS_SAMPLE_INTERVAL_MS: 1000 },
  });
  conn ??= createRedis(config, 'command');
  return { config, keys: keyLayout(prefix) };
}

describe('OpsSampler: one sample per bucket cluster-wide, bounded to the window', () => {
  it('two ops replicas sampling the same buckets concurrently store each bucket exactly once', async () => {
    const { config, keys } = setup();
    const replicas = [replica(config, keys), replica(config, keys), replica(config, keys)];
    try {
      const base = Math.ceil(Date.now() / 1000) * 1000;
      const outcomes: string[][] = [];
      for (let i = 0; i < 5; i++) {
        outcomes.push(await Promise.all(replicas.map((r) => r.sampler.sampleOnce(base + i * 1000 + 10))));
      }
      for (const o of outcomes) expect(o.filter((x) => x === 'written')).toHaveLength(1);
      const samples = await replicas[0]!.sampler.ring.since(0);
      expect(samples.map((s) => s.at)).toEqual([0, 1, 2, 3, 4].map((i) => base + i * 1000));
      // A replica whose clock runs behind cannot add an older bucket after a newer one.
      expect(await replicas[1]!.sampler.sampleOnce(base - 5_000)).toBe('skipped');
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('trims samples older than the window (MINID) and expires the ring when no ops service writes', async () => {
    const { config, keys } = setup();
    const r = replica(config, keys, { intervalMs: 1000, windowMs: 10_000 });
    const sampler = r.sampler;
    try {
      const base = Math.ceil(Date.now() / 1000) * 1000;
      for (let i = 0; i < 25; i++) expect(await sampler.sampleOnce(base + i * 1000)).toBe('written');
      const samples = await sampler.ring.since(0);
      expect(samples[0]?.at).toBe(base + 14_000);
      expect(samples).toHaveLength(11);
      const ttl = await conn!.pttl(keys.opsSamples);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(20_000);
    } finally {
      await r.close();
    }
  });

  it('turns real gateway heartbeats into deliveries/s, p50/p99 and sockets per gateway', async () => {
    const { config, keys } = setup();
    const stats = new DeliveryStats();
    const heartbeat = new MemberHeartbeat({
      connection: conn!,
      keys,
      role: 'gateway',
      id: 'gw-1',
      intervalMs: 100,
      ttlMs: 5_000,
      info: () => ({ sockets: 7, delivery: stats.snapshot() }),
    });
    const r = replica(config, keys);
    try {
      await heartbeat.start();
      const base = Math.ceil(Date.now() / 1000) * 1000;
      await r.sampler.sampleOnce(base);
      for (let i = 0; i < 300; i++) stats.record(i < 296 ? 20 : 2_500);
      await heartbeat.beatNow();
      await r.sampler.sampleOnce(base + 1000);
      const [first, second] = await r.sampler.ring.since(0);
      expect(first?.deliveredPerSec).toBeNull();
      expect(second?.deliveredPerSec).toBeGreaterThan(0);
      expect(second?.latencyP50Ms).toBe(20);
      expect(second?.latencyP99Ms).toBe(3_000);
      expect(second?.connections).toEqual({ 'gw-1': 7 });
    } finally {
      await heartbeat.close();
      await r.close();
    }
  });
});
