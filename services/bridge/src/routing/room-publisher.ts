import { type EventEnvelope, type KeyLayout, runRoom } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { Emitter } from '@socket.io/redis-emitter';
import { Cluster } from 'ioredis';
import { encode } from 'notepack.io';

// A string no envelope can equal, encoded the way the emitter's parser (notepack) encodes it.
const ENVELOPE_MARK = '\u0000agent-bridge:envelope\u0000';
const MARK_BYTES: Buffer = Buffer.from(encode(ENVELOPE_MARK) as Uint8Array);

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

  /** `conn` may be null when only {@link template} / {@link encode} are used. */
  constructor(
    private readonly conn: RedisConnection | null,
    keys: KeyLayout,
  ) {
    const capture = {
      publish: (channel: string, message: Buffer | string): void => {
        this.captured = { channel, message };
      },
    };
    this.emitter = new Emitter(capture, { key: keys.socketIoKey });
  }

  /**
   * The adapter channel of a run's room and the message bytes before and after the envelope: the commit
   * script publishes `prefix .. envelope (MessagePack) .. suffix` itself, atomically with the commit.
   */
  template(runId: string): { channel: string; prefix: Buffer; suffix: Buffer } {
    this.emitter.to(runRoom(runId)).emit('agent_event', ENVELOPE_MARK);
    const out = this.captured;
    this.captured = null;
    if (!out) throw new Error('redis emitter produced no message');
    const message = Buffer.isBuffer(out.message) ? out.message : Buffer.from(out.message);
    const at = message.indexOf(MARK_BYTES);
    if (at < 0 || message.indexOf(MARK_BYTES, at + 1) >= 0) throw new Error('unexpected redis emitter message');
    return {
      channel: out.channel,
      prefix: message.subarray(0, at),
      suffix: message.subarray(at + MARK_BYTES.length),
    };
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
    const conn = this.conn;
    if (!conn) throw new Error('RoomPublisher without a connection cannot publish');
    if (conn instanceof Cluster) {
      // A Cluster client may send key-less commands to different nodes: one at a time keeps the order.
      for (const event of events) {
        const { channel, message } = this.encode(event);
        await conn.publish(channel, message);
      }
      return;
    }
    // One connection: Redis executes pipelined PUBLISHes in the order they were sent.
    await Promise.all(
      events.map((event) => {
        const { channel, message } = this.encode(event);
        return conn.publish(channel, message);
      }),
    );
  }
}
