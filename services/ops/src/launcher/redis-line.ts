import type { AppConfig } from '@agent-bridge/config';
import { type RedisConnection, choosePubSubMode, describeTopology, readTopology } from '@agent-bridge/redis';

/**
 * `standalone: 1 master (127.0.0.1:6379), 0 replicas · pub/sub sharded · 1 event partition` — what the
 * banner shows besides REDIS_URL (a Sentinel's resolved master, a Cluster's masters and slot coverage).
 */
export async function describeRedis(conn: RedisConnection, config: AppConfig): Promise<string> {
  try {
    const topology = await readTopology(conn, config);
    let pubsub: string;
    try {
      pubsub = choosePubSubMode(config.redis.pubsubMode, topology);
    } catch (err) {
      pubsub = `refused (${(err as Error).message})`;
    }
    const n = config.queues.eventPartitions;
    return `${describeTopology(topology)} · pub/sub ${pubsub} · ${n} event partition${n === 1 ? '' : 's'}`;
  } catch (err) {
    return `unknown (${(err as Error).message})`;
  }
}
