import type { AppConfig } from '@agent-bridge/config';
import type { KeyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, RunStore } from '@agent-bridge/redis';
import { RoomPublisher } from './room-publisher';

/**
 * The RunStore a bridge replica commits through: the config's limits, and the Socket.IO room message of
 * `@socket.io/redis-emitter` (from {@link RoomPublisher.template}) for the publishes of the commit script.
 */
export function bridgeRunStore(config: AppConfig, connection: RedisConnection, keys: KeyLayout): RunStore {
  const publisher = new RoomPublisher(null, keys);
  const { historyMaxLen, historyTtlMs, reorderBufferMax } = config.events;
  return new RunStore({
    connection,
    keys,
    limits: { historyMaxLen, historyTtlMs, reorderBufferMax },
    roomMessage: (runId) => publisher.template(runId),
  });
}
