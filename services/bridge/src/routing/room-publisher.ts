import type { AppConfig } from '@agent-bridge/config';
import {
  type EventEnvelope,
  IllegalStateError,
  type KeyLayout,
  type PubSubMode,
  runRoom,
} from '@agent-bridge/protocol';
import { type RedisConnection, resolvePubSubMode } from '@agent-bridge/redis';
import { Emitter } from '@socket.io/redis-emitter';
import { Cluster } from 'ioredis';
import { encode } from 'notepack.io';
import { ShardedMessages } from './sharded-messages';

// A string no envelope can equal, encoded the way the emitter's parser (notepack) encodes it.
const ENVELOPE_MARK = '\u0000agent-bridge:envelope\u0000';
const MARK_BYTES: Buffer = Buffer.from(encode(ENVELOPE_MARK) as Uint8Array);
// ...and the way the sharded adapter encodes it (JSON).
const MARK_JSON: Buffer = Buffer.from(JSON.stringify(ENVELOPE_MARK));

interface Captured {
  channel: string;
  message: Buffer | string;
}

/** A run room's channel and the message bytes around the envelope, for the commit script. */
export interface RoomTemplate {
  channel: string;
  prefix: Buffer;
  suffix: Buffer;
  mode: PubSubMode;
}

function split(
  channel: string,
  message: Buffer | string,
  mark: Buffer,
): { channel: string; prefix: Buffer; suffix: Buffer } {
  const bytes = Buffer.isBuffer(message) ? message : Buffer.from(message);
  const at = bytes.indexOf(mark);
  if (at < 0 || bytes.indexOf(mark, at + 1) >= 0) throw new Error('unexpected Socket.IO adapter message');
  return { channel, prefix: bytes.subarray(0, at), suffix: bytes.subarray(at + mark.length) };
}

/**
 * Publishes envelopes to a run's Socket.IO room through the Redis adapter channel in the exact format the
 * gateways' adapter reads, built by the adapter libraries themselves, awaiting the publish so a failure is an
 * error the caller sees (the libraries fire and forget):
 * - `classic`: PUBLISH in the format of `@socket.io/redis-emitter` (MessagePack), for `createAdapter`;
 * - `sharded`: SPUBLISH in the format of the sharded adapter (`createShardedAdapter`, JSON), on the room
 *   `{run:<runId>}` whose channel lies in the run's hash slot.
 *
 * The mode is the installation's (AB_PUBSUB_MODE and the Redis version, see `resolvePubSubMode`): set it
 * with {@link start} (reads the masters) or {@link useMode} before the first template or publish.
 */
export class RoomPublisher {
  private captured: Captured | null = null;
  private readonly emitter: Emitter;
  private sharded: ShardedMessages | null = null;
  private mode: PubSubMode | null = null;
  private resolving: Promise<PubSubMode> | null = null;

  /** `conn` may be null when only {@link template} / {@link encode} are used. */
  constructor(
    private readonly conn: RedisConnection | null,
    private readonly keys: KeyLayout,
  ) {
    const capture = {
      publish: (channel: string, message: Buffer | string): void => {
        this.captured = { channel, message };
      },
    };
    this.emitter = new Emitter(capture, { key: keys.socketIoKey });
  }

  /** Resolves the installation's mode from `config` and the masters behind `conn` (memoised). */
  start(config: AppConfig): Promise<PubSubMode> {
    const conn = this.conn;
    if (this.mode !== null) return Promise.resolve(this.mode);
    if (!conn) return Promise.reject(new IllegalStateError('no connection', 'resolve the Pub/Sub mode'));
    this.resolving ??= resolvePubSubMode(conn, config).then(({ mode }) => {
      this.useMode(mode);
      return mode;
    });
    return this.resolving;
  }

  /** Sets the mode (a test, or a caller that resolved it already). Once set it does not change. */
  useMode(mode: PubSubMode): void {
    if (this.mode !== null && this.mode !== mode) throw new IllegalStateError(this.mode, `switch to ${mode}`);
    this.mode = mode;
    if (mode === 'sharded') this.sharded ??= new ShardedMessages(this.keys.socketIoKey);
  }

  /** The mode in use, null before {@link start} / {@link useMode}. */
  get currentMode(): PubSubMode | null {
    return this.mode;
  }

  /** The mode in use (throws before {@link start} / {@link useMode}). */
  get pubsubMode(): PubSubMode {
    if (this.mode === null) throw new IllegalStateError('mode unknown', 'publish (call start first)');
    return this.mode;
  }

  /**
   * The adapter channel of a run's room and the message bytes before and after the envelope: the commit
   * script publishes `prefix .. envelope .. suffix` itself, atomically with the commit.
   */
  template(runId: string): RoomTemplate {
    const mode = this.pubsubMode;
    if (mode === 'sharded') {
      const room = runRoom(runId, mode);
      const out = this.shardedMessages().broadcast(room, 'agent_event', ENVELOPE_MARK);
      // The script SPUBLISHes on this channel: a Cluster refuses it inside a script unless it lies in the run's
      // slot, i.e. is the room's own channel. The adapter picks another one for some rooms (its socket-id
      // heuristic, see runRoom): a clear error here, not a commit that fails after writing part of the batch.
      if (out.channel !== `${this.keys.socketIoKey}#/#${room}#`) {
        throw new Error(`the sharded adapter publishes room ${room} on ${out.channel}, outside the run's slot`);
      }
      return { ...split(out.channel, out.message, MARK_JSON), mode };
    }
    const out = this.encodeClassic(runId, ENVELOPE_MARK);
    return { ...split(out.channel, out.message, MARK_BYTES), mode };
  }

  /** The adapter channel and message that deliver `agent_event` with `event` to the run's room. */
  encode(event: EventEnvelope): Captured {
    if (this.pubsubMode === 'sharded') {
      return this.shardedMessages().broadcast(runRoom(event.runId, 'sharded'), 'agent_event', event);
    }
    return this.encodeClassic(event.runId, event);
  }

  /** The sharded adapter's encoder (set with the sharded mode, see {@link useMode}). */
  private shardedMessages(): ShardedMessages {
    if (!this.sharded) throw new IllegalStateError(this.mode ?? 'mode unknown', 'encode a sharded message');
    return this.sharded;
  }

  private encodeClassic(runId: string, data: unknown): Captured {
    this.emitter.to(runRoom(runId)).emit('agent_event', data);
    const out = this.captured;
    this.captured = null;
    if (!out) throw new Error('redis emitter produced no message');
    return out;
  }

  /** Publishes the envelopes in order (one (S)PUBLISH each, pipelined); resolves when Redis took them all. */
  async publish(events: readonly EventEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    const conn = this.conn;
    if (!conn) throw new Error('RoomPublisher without a connection cannot publish');
    const sharded = this.pubsubMode === 'sharded';
    const send = (channel: string, message: Buffer | string): Promise<unknown> =>
      sharded ? conn.spublish(channel, message) : conn.publish(channel, message);
    if (conn instanceof Cluster) {
      // A Cluster client may send key-less commands to different nodes: one at a time keeps the order.
      for (const event of events) {
        const { channel, message } = this.encode(event);
        await send(channel, message);
      }
      return;
    }
    // One connection: Redis executes pipelined publishes in the order they were sent.
    await Promise.all(
      events.map((event) => {
        const { channel, message } = this.encode(event);
        return send(channel, message);
      }),
    );
  }
}
