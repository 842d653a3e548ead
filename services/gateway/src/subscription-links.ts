import type { RedisConnection } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';
import { type Cluster, Redis } from 'ioredis';
import type { LiveRooms } from './live-rooms';

/** What a {@link SubscriptionLinks} tells its watcher. */
export interface LinkHandlers {
  /** A link that carried subscriptions closed (or was replaced): live events are being missed. */
  lost(): void;
  /** Every link carrying subscriptions is connected again (subscriptions may still be on their way). */
  regained(): void;
}

/** The parts of an ioredis 6 Cluster's subscriber machinery that ioredis keeps private (see the class). */
interface ClusterInternals {
  /** `ClusterSubscriberGroup` (sharded mode): one `ShardedSubscriber` per master, by node key. */
  shardedSubscribers?: { shardedSubscribers?: unknown };
  /** `ClusterSubscriber` (classic mode): one connection to a random node. */
  subscriber?: { getInstance?: unknown };
}

interface ShardedSubscriberLike {
  getInstance(): Redis | null;
}

/**
 * The Redis connections that carry a gateway's adapter subscriptions, and when they are lost and back:
 * - standalone or Sentinel: the one subscriber connection (its `close` and `ready`);
 * - Cluster, sharded Pub/Sub: one subscriber connection per master (ioredis' `ClusterSubscriberGroup`). Each
 *   has no reconnect of its own: when it closes, ioredis refreshes the slot map, replaces it, resubscribes
 *   its channels on the new one and emits `subscribersReady`. The Cluster client only reports these
 *   changes without saying which connection (`-subscriber`, `+subscriber`, `subscribersReady`), and its
 *   `close`/`ready` concern the whole cluster, so the connections are read from ioredis' private fields
 *   (checked at construction; ioredis 6.0). Loss: a shard connection's `close`, a removed subscriber
 *   (`-subscriber`: also a slot moved to another master), or the Cluster's `close`. Back: every started
 *   shard connection `ready`;
 * - Cluster, classic Pub/Sub: ioredis' one subscriber connection, replaced on loss by a new one found on the
 *   next {@link connections} call (the liveness check's tick, every second).
 *
 * Which master a run's slot lives on is not used: a loss is reported for all rooms (see `resync.ts`). A
 * slot map that changes during the outage then needs no special case.
 */
export class SubscriptionLinks {
  private handlers: LinkHandlers | null = null;
  private readonly watched = new WeakSet<Redis>();
  private readonly cluster: Cluster | null;
  private readonly internals: ClusterInternals;
  private readonly onLost = (): void => this.handlers?.lost();
  private readonly onBack = (): void => this.handlers?.regained();
  private readonly onMaybeBack = (): void => {
    this.connections();
    this.checkRegained();
  };

  constructor(
    private readonly sub: RedisConnection,
    private readonly rooms: LiveRooms,
    logger: Logger,
  ) {
    this.cluster = sub instanceof Redis ? null : sub;
    this.internals = sub as unknown as ClusterInternals;
    if (this.cluster && !this.readable())
      logger.error(
        { pubsubMode: rooms.mode },
        'this ioredis version hides its Cluster subscriber connections: a lost or stalled one is not caught up ' +
          'by the gateway (clients fall back on their head check)',
      );
  }

  /** Starts reporting to `handlers`. */
  watch(handlers: LinkHandlers): void {
    this.handlers = handlers;
    if (!this.cluster) {
      this.sub.on('close', this.onLost);
      this.sub.on('ready', this.onBack);
      return;
    }
    this.cluster.on('close', this.onLost);
    this.cluster.on('-subscriber', this.onLost);
    for (const event of ['ready', '+subscriber', 'subscribersReady']) this.cluster.on(event, this.onMaybeBack);
    this.connections();
  }

  /** Stops reporting. Idempotent. */
  unwatch(): void {
    const handlers = this.handlers;
    if (!handlers) return;
    this.handlers = null;
    if (!this.cluster) {
      this.sub.off('close', this.onLost);
      this.sub.off('ready', this.onBack);
      return;
    }
    this.cluster.off('close', this.onLost);
    this.cluster.off('-subscriber', this.onLost);
    for (const event of ['ready', '+subscriber', 'subscribersReady']) this.cluster.off(event, this.onMaybeBack);
    for (const conn of this.connections()) {
      conn.off('close', this.onLost);
      conn.off('ready', this.onMaybeBack);
    }
  }

  /**
   * Resolves once the subscriptions of `rooms` (room names) are in effect: from then on every publish to
   * them reaches this gateway. One connection: a PING, answered after the resubscribe commands its reconnect
   * sent before it. Sharded Cluster: the rooms' SSUBSCRIBEs again, each answered by the connection that now
   * serves its slot, after the resubscription ioredis sent there (Redis ignores a repeated SSUBSCRIBE). Classic
   * Cluster: the adapter's pattern again.
   */
  async confirm(rooms: readonly string[]): Promise<void> {
    if (!this.cluster) {
      await this.sub.ping();
      return;
    }
    if (this.rooms.mode === 'sharded') await Promise.all(rooms.map((room) => this.rooms.confirm(room)));
    else await this.rooms.confirm(null);
  }

  /**
   * The connections that carry subscriptions now (the ones started: a master whose slots hold no room has
   * none), for the stall check. Newly seen ones are watched for `close` and `ready`.
   */
  connections(): Redis[] {
    const found = this.current();
    let fresh = false;
    for (const conn of found) {
      if (this.watched.has(conn) || !this.handlers || !this.cluster) continue;
      this.watched.add(conn);
      fresh = true;
      conn.on('close', this.onLost);
      conn.on('ready', this.onMaybeBack);
    }
    if (fresh) this.checkRegained();
    return found;
  }

  private current(): Redis[] {
    if (!this.cluster) return [this.sub as Redis];
    if (!this.readable()) return [];
    const started = (conn: Redis | null | undefined): conn is Redis => conn instanceof Redis && conn.status !== 'wait';
    if (this.rooms.mode === 'classic') {
      const conn = (this.internals.subscriber as { getInstance(): Redis | null }).getInstance();
      return started(conn) ? [conn] : [];
    }
    const group = this.internals.shardedSubscribers?.shardedSubscribers as Map<string, ShardedSubscriberLike>;
    return [...group.values()].map((s) => s.getInstance()).filter(started);
  }

  private readable(): boolean {
    if (!this.cluster) return true;
    const c = this.internals;
    if (this.rooms.mode === 'classic') return typeof c.subscriber?.getInstance === 'function';
    return c.shardedSubscribers?.shardedSubscribers instanceof Map;
  }

  private checkRegained(): void {
    if (!this.handlers || !this.cluster || this.cluster.status !== 'ready') return;
    // A closed shard connection stays in ioredis' map (status `end`) until its replacement is made.
    if (this.current().every((conn) => conn.status === 'ready')) this.handlers.regained();
  }
}
