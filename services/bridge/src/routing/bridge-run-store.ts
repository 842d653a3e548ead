import type { AppConfig } from '@agent-bridge/config';
import type { KeyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, RunStore } from '@agent-bridge/redis';
import type { RoomPublisher } from './room-publisher';

/**
 * The RunStore a bridge replica commits through: the config's limits, and the Socket.IO room message of
 * the installation's Pub/Sub mode (from {@link RoomPublisher.template}) for the publishes of the commit
 * script. The publisher's mode must be set before the first commit.
 */
export function bridgeRunStore(
  config: AppConfig,
  connection: RedisConnection,
  keys: KeyLayout,
  publisher: RoomPublisher,
): RunStore {
  const { historyMaxLen, historyTtlMs, reorderBufferMax } = config.events;
  return new RunStore({
    connection,
    keys,
    limits: { historyMaxLen, historyTtlMs, reorderBufferMax },
    roomMessage: (runId) => publisher.template(runId),
  });
}
