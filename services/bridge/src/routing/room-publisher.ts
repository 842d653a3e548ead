import { type EventEnvelope, type KeyLayout, runRoom } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { Emitter } from '@socket.io/redis-emitter';
import { Cluster } from 'ioredis';

interface Captured {
  channel: string;
  message: Buffer | string;
}

/**
 * Publishes envelopes to a run's Socket.IO room through the Redis adapter channel, in the exact format of
 * `@socket.io/redis-emitter` (it builds the message), but awaiting PUBLISH so a failure is an error the
 * caller sees (the emitter itself fires and forgets).
 */
export class RoomPublisher {
  private captured: Captured | null = null;
  private readonly emitter: Emitter;

  constructor(
    private readonly conn: RedisConnection,
    keys: KeyLayout,
  ) {
    const capture = {
      publish: (channel: string, message: Buffer | string): void => {
        this.captured = { channel, message };
      },
    };
    this.emitter = new Emitter(capture, { key: keys.socketIoKey });
  }

  /** The adapter channel and message that deliver `agent_event` with `event` to the run's room. */
  encode(event: EventEnvelope): Captured {
    this.emitter.to(runRoom(event.runId)).emit('agent_event', event);
    const out = this.captured;
    this.captured = null;
    if (!out) throw new Error('redis emitter produced no message');
    return out;
  }

  /** Publishes the envelopes in order (one PUBLISH each, pipelined); resolves when Redis took them all. */
  async publish(events: readonly EventEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    if (this.conn instanceof Cluster) {
      // A Cluster client may send key-less commands to different nodes: one at a time keeps the order.
      for (const event of events) {
        const { channel, message } = this.encode(event);
        await this.conn.publish(channel, message);
      }
      return;
    }
    // One connection: Redis executes pipelined PUBLISHes in the order they were sent.
    await Promise.all(
      events.map((event) => {
        const { channel, message } = this.encode(event);
        return this.conn.publish(channel, message);
      }),
    );
  }
}
