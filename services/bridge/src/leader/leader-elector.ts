import type { LeaderRecord } from '@agent-bridge/control-plane';
import { FencedError, IllegalStateError, type KeyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { type Logger, metrics, withSpan } from '@agent-bridge/telemetry';
import { Waker, sleepUnlessAborted } from './abortable';
import { FencingStore } from './fencing';
import type { Lease, LeaseClient } from './lease-client';

/** What a leader-only duty gets: its fencing epoch and a signal that fires when leadership ends. */
export interface LeaderContext {
  readonly leaderId: string;
  readonly epoch: number;
  readonly signal: AbortSignal;
}

/** A leader-only duty: runs from the moment leadership starts until `ctx.signal` aborts. */
export type LeaderDuty = (ctx: LeaderContext) => Promise<void>;

/**
 * Called after leadership was lost for want of a lock quorum (no other replica can lead either), before
 * the record is resigned: the last moment the epoch is still valid for a fenced "why" note.
 */
export type QuorumLostHook = (ctx: LeaderContext, reason: string) => Promise<void>;

export type ElectorState = 'idle' | 'standby' | 'leader' | 'stepping-down' | 'closing' | 'closed';

/** Options of a {@link LeaderElector}. Durations are ms. */
export interface LeaderElectorOptions {
  /** This replica's id (written to the leader record). */
  id: string;
  keys: KeyLayout;
  /** Data Redis (the fencing authority), command role. Never closed by the elector. */
  connection: RedisConnection;
  /** A connection the elector may SUBSCRIBE on (shared with other subscribers is fine). Never closed. */
  subscriber: RedisConnection;
  lease: LeaseClient;
  /** Lease validity. */
  leaseTtlMs: number;
  /** Extend when this much validity is left (below leaseTtlMs). */
  extendBeforeMs: number;
  /** Pause between acquisition attempts. */
  retryDelayMs: number;
  /** Random 0..jitter added to each pause. */
  retryJitterMs: number;
  /** How long step-down waits for duties to finish after their signal fired. @defaultValue leaseTtlMs */
  dutyStopTimeoutMs?: number;
  logger: Logger;
}

/** What {@link LeaderElector.getStatus} reports. */
export interface ElectorStatus {
  id: string;
  state: ElectorState;
  isLeader: boolean;
  /** Our epoch while leading. */
  epoch: number | null;
  /** Validity left of our lease while leading. */
  leaseRemainingMs: number | null;
  /** Why this replica is not leading (last failed acquisition / step-down), null while leading. */
  lastError: string | null;
  /** Whether the last attempt failed because no quorum of lock masters answered. */
  quorumUnavailable: boolean;
  /** Times this replica became leader. */
  terms: number;
}

/** Message on `keys.leaderChannel`. */
export interface LeaderAnnouncement {
  type: 'elected' | 'released';
  id: string;
  epoch: number;
  at: number;
}

interface Term {
  lease: Lease;
  epoch: number;
  controller: AbortController;
  duties: Promise<void>[];
  ended: Promise<void>;
  end: () => void;
  lostReason: string | null;
  quorumLost: boolean;
}

/**
 * Leader election over a {@link LeaseClient} (Redlock) with fencing epochs in the data Redis.
 *
 * Standbys try to acquire in a bounded loop (retry delay + jitter, stopped by `close()`) and wake at once
 * when the leader announces a release on `keys.leaderChannel`. The leader extends the lease
 * `extendBeforeMs` before expiry and refreshes its record with a check-and-set; the moment an extension
 * fails, the lease expires unextended (e.g. the process was paused) or a newer epoch is announced, the
 * duties' `AbortSignal` fires and the replica steps down (resigns the record, releases the lease) instead
 * of carrying on. `close()` hands over: stop duties, delete the record (CAS), release the lease, announce.
 */
export class LeaderElector {
  private state: ElectorState = 'idle';
  private readonly fencing: FencingStore;
  private readonly duties = new Map<string, LeaderDuty>();
  private readonly listeners = new Set<(status: ElectorStatus) => void>();
  private quorumLostHook: QuorumLostHook | null = null;
  private readonly waker = new Waker();
  private term: Term | null = null;
  private loop: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private lastError: string | null = 'not started';
  private quorumUnavailable = false;
  private terms = 0;
  private readonly onMessage = (channel: string, message: string): void => this.handleAnnouncement(channel, message);

  constructor(private readonly options: LeaderElectorOptions) {
    if (!(options.extendBeforeMs < options.leaseTtlMs)) {
      throw new RangeError('extendBeforeMs must be below leaseTtlMs');
    }
    this.fencing = new FencingStore(options.connection, options.keys);
  }

  /** Registers a duty run on every term of leadership. Register before `start()`. */
  addDuty(name: string, duty: LeaderDuty): void {
    if (this.duties.has(name)) throw new Error(`duty ${name} is already registered`);
    this.duties.set(name, duty);
  }

  /** Sets the hook run when leadership is lost because the lock quorum is gone. */
  onQuorumLost(hook: QuorumLostHook): void {
    this.quorumLostHook = hook;
  }

  /** Subscribes to status changes (leader / standby); returns an unsubscribe function. */
  onChange(listener: (status: ElectorStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts the election loop (does not wait for leadership). Idempotent. */
  async start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') throw new IllegalStateError(this.state, 'start');
    if (this.loop) return;
    this.options.subscriber.on('message', this.onMessage);
    await this.options.subscriber.subscribe(this.options.keys.leaderChannel);
    this.setState('standby');
    this.loop = this.run();
  }

  get isLeader(): boolean {
    return this.state === 'leader';
  }

  /** The current term's context, or null when not leading. */
  get context(): LeaderContext | null {
    const t = this.term;
    if (!t || this.state !== 'leader') return null;
    return { leaderId: this.options.id, epoch: t.epoch, signal: t.controller.signal };
  }

  getStatus(): ElectorStatus {
    const t = this.state === 'leader' ? this.term : null;
    return {
      id: this.options.id,
      state: this.state,
      isLeader: t !== null,
      epoch: t?.epoch ?? null,
      leaseRemainingMs: t ? Math.max(0, t.lease.expiresAt - Date.now()) : null,
      lastError: t ? null : this.lastError,
      quorumUnavailable: this.quorumUnavailable,
      terms: this.terms,
    };
  }

  /** The live leader record in the data Redis (any replica), or null when nobody leads. */
  currentLeader(): Promise<LeaderRecord | null> {
    return this.fencing.current();
  }

  /** Resolves once this replica leads (or rejects after `timeoutMs`). */
  async waitForLeadership(timeoutMs: number): Promise<LeaderContext> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ctx = this.context;
      if (ctx) return ctx;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`not leader after ${timeoutMs} ms: ${this.lastError ?? 'unknown'}`);
  }

  /** Steps down now if leading (for tests and operators); the replica stays a candidate. */
  async stepDown(reason = 'asked to step down'): Promise<void> {
    const t = this.term;
    if (!t) return;
    this.lose(t, reason, false);
    await t.ended;
  }

  /**
   * Hands leadership over and stops: duties are aborted and awaited, the record deleted (CAS), the lease
   * released and the release announced so a standby acquires at once. Idempotent; never throws.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const wasStarted = this.loop !== null;
      this.setState('closing');
      this.waker.wake();
      const t = this.term;
      if (t) {
        this.lose(t, 'shutting down', false);
        await t.ended;
      }
      await this.loop?.catch(() => undefined);
      if (wasStarted) {
        this.options.subscriber.off('message', this.onMessage);
        await this.options.subscriber.unsubscribe(this.options.keys.leaderChannel).catch(() => undefined);
      }
      this.setState('closed');
    })();
    return this.closing;
  }

  private get stopping(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  private async run(): Promise<void> {
    const o = this.options;
    while (!this.stopping) {
      let term: Term | null = null;
      try {
        term = await this.tryLead();
      } catch (err) {
        this.lastError = `acquisition failed: ${(err as Error).message}`;
        o.logger.warn({ err }, 'leader acquisition attempt failed');
      }
      if (term) {
        await this.serve(term);
        if (this.stopping) break;
      }
      await this.waker.sleep(o.retryDelayMs + Math.floor(Math.random() * (o.retryJitterMs + 1)));
    }
  }

  private async tryLead(): Promise<Term | null> {
    const o = this.options;
    const acquired = await o.lease.acquire(o.keys.leaderLease, o.leaseTtlMs);
    if (!acquired.ok) {
      this.quorumUnavailable = acquired.reason === 'unavailable';
      this.lastError =
        acquired.reason === 'unavailable'
          ? `lock quorum unavailable: ${acquired.detail}`
          : `lease held by another replica`;
      return null;
    }
    this.quorumUnavailable = false;
    const lease = acquired.lease;
    let issued = await this.fencing.issueEpoch(o.id, lease.token, o.leaseTtlMs, o.lease.sharesDataRedis);
    // The previous leader's record outlives its lease by the few ms between its extend and record refresh.
    if (!issued.ok && issued.reason === 'held' && issued.pttlMs >= 0 && issued.pttlMs < o.retryDelayMs) {
      const waitMs = issued.pttlMs + 5;
      await new Promise((r) => setTimeout(r, waitMs));
      issued = await this.fencing.issueEpoch(o.id, lease.token, o.leaseTtlMs, o.lease.sharesDataRedis);
    }
    if (!issued.ok || this.stopping || lease.expiresAt <= Date.now()) {
      await o.lease.release(lease);
      this.lastError = issued.ok
        ? 'lease expired while taking the epoch'
        : issued.reason === 'held'
          ? `leader record of ${issued.holderId} (epoch ${issued.holderEpoch}) still alive`
          : 'lease lost before the epoch was issued';
      if (issued.ok) await this.fencing.resign(lease.token, this.announcement('released', issued.epoch));
      return null;
    }
    let end!: () => void;
    const ended = new Promise<void>((r) => (end = r));
    const term: Term = {
      lease,
      epoch: issued.epoch,
      controller: new AbortController(),
      duties: [],
      ended,
      end,
      lostReason: null,
      quorumLost: false,
    };
    this.term = term;
    this.terms++;
    this.lastError = null;
    this.setState('leader');
    o.logger.info({ epoch: term.epoch, leaseRemainingMs: lease.expiresAt - Date.now() }, 'became leader');
    metrics.leaderChanges.add(1, { change: 'acquired' });
    metrics.leaderEpoch.record(term.epoch);
    metrics.isLeader.record(1);
    await withSpan('leader.elected', { 'agent_bridge.leader_id': o.id, 'agent_bridge.epoch': term.epoch }, () =>
      o.connection.publish(o.keys.leaderChannel, this.announcement('elected', term.epoch)).catch(() => 0),
    );
    return term;
  }

  /** Runs one term: duties + extension, until lost; then steps down. */
  private async serve(term: Term): Promise<void> {
    const o = this.options;
    const ctx: LeaderContext = { leaderId: o.id, epoch: term.epoch, signal: term.controller.signal };
    for (const [name, duty] of this.duties) {
      term.duties.push(
        (async () => {
          try {
            await duty(ctx);
          } catch (err) {
            if (err instanceof FencedError) this.lose(term, `duty ${name} was fenced: ${err.message}`, false);
            else if (!term.controller.signal.aborted) o.logger.error({ err, duty: name }, 'leader duty failed');
          }
        })(),
      );
    }
    await this.keepExtending(term);
    await this.stepDownTerm(term);
  }

  private async keepExtending(term: Term): Promise<void> {
    const o = this.options;
    const signal = term.controller.signal;
    const watchdog = (): NodeJS.Timeout =>
      setTimeout(
        () => this.lose(term, 'lease expired without a successful extension (process paused or Redis slow)', false),
        Math.max(0, term.lease.expiresAt - Date.now()),
      );
    let dog = watchdog();
    try {
      while (!signal.aborted) {
        await sleepUnlessAborted(term.lease.expiresAt - o.extendBeforeMs - Date.now(), signal);
        if (signal.aborted) return;
        if (Date.now() >= term.lease.expiresAt) {
          this.lose(term, 'lease expired before it could be extended (process paused?)', false);
          return;
        }
        const r = await o.lease.extend(term.lease, o.leaseTtlMs);
        if (signal.aborted) return;
        if (!r.ok) {
          this.lose(term, `lease extension failed (${r.reason}): ${r.detail}`, r.reason === 'unavailable');
          return;
        }
        let mine = false;
        try {
          mine = await this.fencing.extendRecord(r.lease.token, term.epoch, o.leaseTtlMs);
        } catch (err) {
          this.lose(term, `leader record refresh failed: ${(err as Error).message}`, false);
          return;
        }
        if (!mine) {
          this.lose(term, 'leader record lost or taken over (newer epoch)', false);
          return;
        }
        term.lease = r.lease;
        clearTimeout(dog);
        dog = watchdog();
      }
    } finally {
      clearTimeout(dog);
    }
  }

  /** Fires the term's signal (once) with the reason. */
  private lose(term: Term, reason: string, quorumLost: boolean): void {
    if (term.controller.signal.aborted) return;
    term.lostReason = reason;
    term.quorumLost = quorumLost;
    if (this.state === 'leader') this.setState('stepping-down');
    this.options.logger.warn({ epoch: term.epoch, reason }, 'leadership ending');
    term.controller.abort(new Error(reason));
  }

  private async stepDownTerm(term: Term): Promise<void> {
    const o = this.options;
    const reason = term.lostReason ?? 'unknown';
    if (term.quorumLost && this.quorumLostHook) {
      try {
        await this.quorumLostHook({ leaderId: o.id, epoch: term.epoch, signal: term.controller.signal }, reason);
      } catch (err) {
        o.logger.warn({ err }, 'could not publish why leadership was lost');
      }
    }
    // Resign before waiting for the duties: once the record is gone every write they still attempt is
    // fenced, so the hand-over need not wait for a slow probe or a recovery job to finish. The lease is
    // released first so that a standby woken by the announcement finds both lease and record free.
    await o.lease.release(term.lease);
    try {
      await withSpan('leader.resign', { 'agent_bridge.epoch': term.epoch, 'agent_bridge.reason': reason }, () =>
        this.fencing.resign(term.lease.token, this.announcement('released', term.epoch)),
      );
    } catch (err) {
      o.logger.warn({ err }, 'could not resign the leader record');
    }
    const limit = o.dutyStopTimeoutMs ?? o.leaseTtlMs;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(term.duties), new Promise((r) => (timer = setTimeout(r, limit)))]);
    clearTimeout(timer);
    this.term = null;
    this.quorumUnavailable = term.quorumLost;
    this.lastError = `stepped down: ${reason}`;
    o.logger.info({ epoch: term.epoch, reason }, 'stepped down');
    metrics.leaderChanges.add(1, { change: this.stopping ? 'released' : 'lost' });
    metrics.isLeader.record(0);
    if (!this.stopping) this.setState('standby');
    term.end();
  }

  private handleAnnouncement(channel: string, message: string): void {
    if (channel !== this.options.keys.leaderChannel) return;
    let a: LeaderAnnouncement;
    try {
      a = JSON.parse(message) as LeaderAnnouncement;
    } catch {
      return;
    }
    if (a.id === this.options.id && a.type === 'released') return;
    const t = this.term;
    if (a.type === 'elected' && t && a.epoch > t.epoch) {
      this.lose(t, `replica ${a.id} was elected with newer epoch ${a.epoch}`, false);
    }
    if (a.type === 'released' && !t) this.waker.wake();
  }

  private announcement(type: LeaderAnnouncement['type'], epoch: number): string {
    const a: LeaderAnnouncement = { type, id: this.options.id, epoch, at: Date.now() };
    return JSON.stringify(a);
  }

  private setState(state: ElectorState): void {
    if (this.state === state) return;
    this.state = state;
    const status = this.getStatus();
    for (const l of this.listeners) {
      try {
        l(status);
      } catch (err) {
        this.options.logger.warn({ err }, 'elector listener failed');
      }
    }
  }
}
