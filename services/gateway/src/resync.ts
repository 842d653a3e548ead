import {
  type ClientToServerEvents,
  type EventEnvelope,
  type InterServerEvents,
  type KeyLayout,
  type ServerToClientEvents,
  runIdOfRoom,
} from '@agent-bridge/protocol';
import { type RedisConnection, readHistory } from '@agent-bridge/redis';
import { type Logger, metrics } from '@agent-bridge/telemetry';
import type { Server } from 'socket.io';
import type { SubscriptionLinks } from './subscription-links';

/** Why the adapter subscription was lost. */
export type LossReason = 'closed' | 'stalled';

/**
 * State of the adapter subscription as the resync sees it: `live` (every published event reaches this
 * gateway), `lost` (the subscriber link is down or stalled: events are being missed), `catching-up`
 * (resubscribed; replaying from history what the rooms missed).
 */
export type SubscriptionState = 'live' | 'lost' | 'catching-up';

/** What {@link AdapterResync.getStatus} reports (part of the gateway's `/readyz`). */
export interface ResyncStatus {
  state: SubscriptionState;
  enabled: boolean;
  /** Catch-ups completed since start. */
  resyncs: number;
  /** Events re-sent from history in those catch-ups. */
  resyncedEvents: number;
  /** Epoch ms when the subscription was last lost (null: never). */
  lastLostAt: number | null;
  /** Why it was last lost (null: never). */
  lastLossReason: LossReason | null;
  /** Epoch ms when the last catch-up completed (null: never). */
  lastResyncAt: number | null;
  /** Runs with a delivery mark (rooms of this gateway). */
  trackedRuns: number;
}

/** Options of an {@link AdapterResync}. */
export interface AdapterResyncOptions {
  /** The gateway's Socket.IO server (its default namespace's adapter is the Redis adapter). */
  io: Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents>;
  /** Connection for history reads. */
  command: RedisConnection;
  keys: KeyLayout;
  /** Events per history read. */
  pageSize: number;
  /** Off: nothing is replayed (the fault is then visible; for demonstrations only). @defaultValue true */
  enabled?: boolean;
  /** History reads of one catch-up run at most this many at a time. @defaultValue 16 */
  concurrency?: number;
  /** First retry delay of a catch-up whose history reads failed (doubles up to 2 s). @defaultValue 100 */
  retryDelayMs?: number;
  logger: Logger;
}

/** The seq through which every socket of a run's room has been served, and the history epoch it belongs to. */
interface Mark {
  seq: number;
  epoch: number;
}

/**
 * Makes a gateway's rooms whole again after its adapter subscription was lost. Redis Pub/Sub is
 * at-most-once: what is published while a subscriber link is down (dropped, `CLIENT KILL`ed, reset by a
 * proxy) or stalled never reaches this gateway, and its sockets stay connected, so no client resubscribes
 * by itself; a run's last events would never arrive. On a Cluster in sharded mode there is a link per
 * master ({@link SubscriptionLinks}), and losing any one of them counts as losing the subscription.
 *
 * Per run room the resync keeps a *mark*: a seq through which every socket in the room has been served,
 * raised by live deliveries and set by subscribe replays. When the subscription is lost the marks freeze.
 * When the links are ready again, it first confirms the subscriptions ({@link SubscriptionLinks.confirm}:
 * a PING on one connection, answered after the automatic resubscribe; on a sharded Cluster each room's
 * SSUBSCRIBE again), so from then on every publish reaches this gateway, then reads each
 * local room's history after its mark and emits those events to the room, locally, in seq order. Events
 * committed after the read arrive live. Clients dedupe by seq (docs/protocol.md), so what a socket
 * already had costs bandwidth, not correctness. A lost subscription during a catch-up starts another.
 *
 * Losing one shard link of a Cluster freezes every mark and catches every local room up, not only the rooms
 * whose slots that master serves: rooms on the healthy masters are re-sent what they already got during the
 * outage (the clients drop it by seq), in exchange for no dependence on the slot map, which may change
 * during the very outage (failover, resharding) that caused it.
 *
 * Cost: a `Map` entry per local run room, updated per delivered event; one history read per local room per
 * catch-up (at most `concurrency` at a time), and on a sharded Cluster one SSUBSCRIBE per local room.
 */
export class AdapterResync {
  private readonly marks = new Map<string, Mark>();
  private state: SubscriptionState = 'live';
  private generation = 0;
  private started = false;
  private closed = false;
  private reason: LossReason = 'closed';
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryAttempt = 0;
  private resyncs = 0;
  private resyncedEvents = 0;
  private lastLostAt: number | null = null;
  private lastResyncAt: number | null = null;
  private readonly enabled: boolean;
  private readonly concurrency: number;
  private readonly retryDelayMs: number;
  private links: SubscriptionLinks | null = null;
  /** Releases of the {@link unlessLost} waits in progress. */
  private readonly lossWaiters = new Set<() => void>();
  private readonly onDeleteRoom = (room: unknown): void => {
    const runId = runIdOfRoom(room);
    if (runId !== null) this.marks.delete(runId);
  };

  constructor(private readonly options: AdapterResyncOptions) {
    this.enabled = options.enabled ?? true;
    this.concurrency = options.concurrency ?? 16;
    this.retryDelayMs = options.retryDelayMs ?? 100;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError('concurrency must be ≥ 1');
  }

  /** Starts watching the adapter's subscriber `links` (call once the adapter is installed). Idempotent. */
  start(links: SubscriptionLinks): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.links = links;
    links.watch({ lost: () => this.lost('closed'), regained: () => this.regained() });
    this.options.io.of('/').adapter.on('delete-room', this.onDeleteRoom);
  }

  /** Stops watching; a catch-up in progress stops at its next step. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.links?.unwatch();
    this.options.io.of('/').adapter.off('delete-room', this.onDeleteRoom);
    this.marks.clear();
    this.releaseWaiters();
  }

  /**
   * Runs `confirm` (a room's subscription taking effect) and resolves when it does, or at once when the
   * subscription is lost now or before it does (its rejection is then ignored). A room that exists when the
   * subscription is lost is enumerated by the catch-up that follows, which serves it from its mark; waiting
   * on a link that is down would only hold a subscribe, for as long as the outage lasts. A stalled link is
   * declared lost by the liveness check, so the wait is bounded by its detection time.
   */
  async unlessLost(confirm: () => Promise<unknown>): Promise<void> {
    if (this.state === 'lost' || this.closed) return;
    const confirmed = confirm();
    let release = (): void => undefined;
    const lost = new Promise<void>((resolve) => (release = resolve));
    this.lossWaiters.add(release);
    try {
      await Promise.race([confirmed, lost]);
    } finally {
      this.lossWaiters.delete(release);
      confirmed.catch(() => undefined);
    }
  }

  private releaseWaiters(): void {
    for (const release of this.lossWaiters) release();
    this.lossWaiters.clear();
  }

  getStatus(): ResyncStatus {
    return {
      state: this.state,
      enabled: this.enabled,
      resyncs: this.resyncs,
      resyncedEvents: this.resyncedEvents,
      lastLostAt: this.lastLostAt,
      lastLossReason: this.lastLostAt === null ? null : this.reason,
      lastResyncAt: this.lastResyncAt,
      trackedRuns: this.marks.size,
    };
  }

  /**
   * An `agent_event` was written to a socket. While the subscription is live, every socket of the run's
   * room gets the same live events in seq order, so the mark follows the highest seq. While it is not, the
   * marks stay frozen: a live event received after the resubscribe but before the catch-up read must not
   * hide the ones missed before it.
   */
  noteDelivered(event: EventEnvelope): void {
    if (this.state !== 'live') return;
    const mark = this.marks.get(event.runId);
    if (mark && event.seq > mark.seq) {
      mark.seq = event.seq;
      mark.epoch = event.epoch;
    }
  }

  /**
   * A socket joined the run's room and was sent the history through `coveredSeq` (its replay). The first
   * socket of a room sets the mark; while the subscription is not live a later one may lower it, because
   * the events after its replay may be among those being missed.
   */
  noteSubscribed(runId: string, coveredSeq: number, epoch: number): void {
    const mark = this.marks.get(runId);
    if (!mark) this.marks.set(runId, { seq: coveredSeq, epoch });
    else if (this.state !== 'live' && coveredSeq < mark.seq) {
      mark.seq = coveredSeq;
      mark.epoch = epoch;
    }
  }

  /**
   * Declares the subscription lost now (the liveness check found the link stalled, before tearing it
   * down). Called by the connection's `close` event too.
   */
  lost(reason: LossReason): void {
    if (this.closed || !this.started) return;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.state === 'live') {
      this.reason = reason;
      this.lastLostAt = Date.now();
      this.options.logger.warn({ reason }, 'adapter subscription lost: live events are missed until it is back');
    }
    this.state = 'lost';
    this.releaseWaiters();
  }

  private regained(): void {
    if (this.closed || !this.started || this.state === 'live') return;
    this.state = 'catching-up';
    this.retryAttempt = 0;
    this.run(++this.generation);
  }

  private run(generation: number): void {
    void this.catchUp(generation).then(
      (sent) => {
        if (generation !== this.generation) return;
        this.state = 'live';
        this.resyncs++;
        this.resyncedEvents += sent;
        this.lastResyncAt = Date.now();
        metrics.gatewayResyncs.add(1, { reason: this.reason });
        metrics.gatewayResyncedEvents.add(sent);
        this.options.logger.info(
          { reason: this.reason, events: sent, rooms: this.marks.size, enabled: this.enabled },
          'adapter subscription back: rooms caught up from history',
        );
      },
      (err: unknown) => {
        if (generation !== this.generation || this.closed) return;
        const delay = Math.min(this.retryDelayMs * 2 ** this.retryAttempt++, 2_000);
        this.options.logger.warn({ err, retryInMs: delay }, 'catch-up after a lost subscription failed; retrying');
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          if (generation === this.generation) this.run(generation);
        }, delay);
      },
    );
  }

  /** Replays every local room's history after its mark; resolves with the number of events sent. */
  private async catchUp(generation: number): Promise<number> {
    const runIds: { runId: string; room: string }[] = [];
    for (const room of this.options.io.of('/').adapter.rooms.keys()) {
      const runId = runIdOfRoom(room);
      if (runId !== null) runIds.push({ runId, room });
    }
    // From here on every publish to these rooms reaches us live: what the history read below misses, the
    // live stream has.
    if (!this.links) return 0; // not started: nothing was subscribed
    await this.links.confirm(runIds.map((r) => r.room));
    if (!this.enabled) return 0;
    let sent = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let item = runIds[next++]; item && generation === this.generation; item = runIds[next++]) {
        const { runId, room } = item;
        sent += await this.catchUpRun(runId, room, generation);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, runIds.length) }, worker));
    return sent;
  }

  private async catchUpRun(runId: string, roomName: string, generation: number): Promise<number> {
    const mark = this.marks.get(runId) ?? { seq: 0, epoch: 0 };
    let afterSeq = mark.seq;
    let sent = 0;
    for (;;) {
      let page = await readHistory(this.options.command, this.options.keys, runId, afterSeq, this.options.pageSize);
      if (mark.epoch !== 0 && page.epoch !== 0 && page.epoch !== mark.epoch && afterSeq === mark.seq) {
        // The history was recreated meanwhile: send the new incarnation from its start; the clients see
        // the new epoch and re-subscribe, which tells them `recovered: false`.
        afterSeq = 0;
        page = await readHistory(this.options.command, this.options.keys, runId, 0, this.options.pageSize);
      }
      if (generation !== this.generation) return sent;
      const room = this.options.io.local.to(roomName);
      for (const event of page.events) room.emit('agent_event', event);
      sent += page.events.length;
      const last = page.events.at(-1);
      if (last) {
        afterSeq = last.seq;
        const current = this.marks.get(runId);
        if (current) {
          current.seq = current.epoch === last.epoch ? Math.max(current.seq, last.seq) : last.seq;
          current.epoch = last.epoch;
        }
      }
      if (!page.hasMore || !last) return sent;
    }
  }
}
