import { createShardedAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';

/** A channel and message the sharded adapter would SPUBLISH. */
export interface ShardedMessage {
  channel: string;
  message: Buffer | string;
}

/**
 * Builds the messages of `@socket.io/redis-adapter`'s sharded adapter (`createShardedAdapter`, dynamic
 * subscription mode) with the adapter itself, so channel names and message format are the library's, not
 * a copy: a detached Socket.IO server (no HTTP server, no sockets) whose adapter publishes into a capture
 * instead of Redis. There is no `@socket.io/redis-emitter` for sharded Pub/Sub; this plays its part.
 *
 * The capture is synchronous: the adapter calls SPUBLISH before `emit` / `serverSideEmit` return.
 * Cost: one Socket.IO server object per instance, no timers, no connections.
 */
export class ShardedMessages {
  private captured: ShardedMessage | null = null;
  private readonly io: Server;

  /** `channelPrefix` = the gateways' adapter key (`keys.socketIoKey`). */
  constructor(channelPrefix: string) {
    const capture = {
      spublish: (channel: string, message: Buffer | string): Promise<number> => {
        this.captured = { channel, message };
        return Promise.resolve(0);
      },
      // The adapter subscribes to its own channels at creation; this one never receives anything.
      ssubscribe: (): Promise<number> => Promise.resolve(0),
      sunsubscribe: (): Promise<number> => Promise.resolve(0),
      on: (): void => undefined,
    };
    this.io = new Server();
    this.io.adapter(createShardedAdapter(capture, capture, { channelPrefix, subscriptionMode: 'dynamic' }));
  }

  /** The channel and message that deliver `event` with `data` to every socket of `room`, on every gateway. */
  broadcast(room: string, event: string, data: unknown): ShardedMessage {
    this.io.to(room).emit(event, data);
    return this.take();
  }

  /** The channel and message of `serverSideEmit(event, data)` (received by every gateway's server). */
  serverSideEmit(event: string, data: unknown): ShardedMessage {
    this.io.serverSideEmit(event, data);
    return this.take();
  }

  private take(): ShardedMessage {
    const out = this.captured;
    this.captured = null;
    if (!out) throw new Error('sharded adapter produced no message');
    return out;
  }
}
