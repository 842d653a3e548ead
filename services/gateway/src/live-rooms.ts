import { type KeyLayout, type PubSubMode, runRoom } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { Server } from 'socket.io';

/**
 * The run rooms of a gateway in the installation's Pub/Sub mode, and the Socket.IO Redis adapter that
 * feeds them:
 * - `classic`: `createAdapter` — one PSUBSCRIBE `<key>#*` covers every room; joining a room is local.
 * - `sharded`: `createShardedAdapter` (dynamic mode) — one SSUBSCRIBE per room with local sockets, on the
 *   channel `<key>#/#{run:<runId>}#`, which lies in the run's hash slot (served by the run's master).
 *
 * The bridge publishes in the same format (`services/bridge/src/routing/room-publisher.ts`); the e2e and
 * gateway tests check both against these adapters.
 */
export class LiveRooms {
  constructor(
    readonly mode: PubSubMode,
    private readonly keys: KeyLayout,
    private readonly subscriber: RedisConnection,
  ) {}

  /** Installs the mode's adapter on `io` (pub publishes, sub subscribes; neither is closed by it). */
  install(io: Server, pub: RedisConnection): void {
    const adapter =
      this.mode === 'sharded'
        ? createShardedAdapter(pub, this.subscriber, {
            channelPrefix: this.keys.socketIoKey,
            subscriptionMode: 'dynamic',
          })
        : createAdapter(pub, this.subscriber, { key: this.keys.socketIoKey });
    io.adapter(adapter);
  }

  /** The room of a run. */
  room(runId: string): string {
    return runRoom(runId, this.mode);
  }

  /**
   * Resolves once live events of `runId` reach this gateway, after a socket joined its room. Classic: at
   * once (the pattern subscription exists). Sharded: the room's first join made the adapter send SSUBSCRIBE
   * without awaiting it; a second SSUBSCRIBE of the same channel on the same connection (a no-op for Redis)
   * is answered after the first, so when it resolves the subscription is in effect — the subscribe replay
   * may only read the history then, or an event committed in between would reach neither.
   */
  async joined(runId: string): Promise<void> {
    if (this.mode === 'classic') return;
    await this.confirm(this.room(runId));
  }

  /**
   * Subscribes again what the adapter subscribed (a no-op for Redis; ioredis routes it to the connection
   * that now serves the channel's slot): resolves once those publishes reach this gateway. Sharded: the
   * room's channel (`room`); classic: the adapter's pattern (`room` is ignored).
   */
  async confirm(room: string | null): Promise<void> {
    if (this.mode === 'classic') await this.subscriber.psubscribe(`${this.keys.socketIoKey}#/#*`);
    else if (room !== null) await this.subscriber.ssubscribe(`${this.keys.socketIoKey}#/#${room}#`);
  }
}
