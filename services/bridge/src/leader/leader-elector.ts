import type { LeaderRecord } from '@agent-bridge/control-plane';
import type { KeyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { Lifecycle } from '@agent-bridge/runtime';
import { type Logger, metrics, withSpan } from '@agent-bridge/telemetry';
import { Waker } from './abortable';
import { acquireLeadership } from './acquire';
import { announcement, announcementEffect } from './announcements';
import { type LeaderContext, type LeaderDuty, type QuorumLostHook, runDuty } from './duty';
import { FencingStore } from './fencing';
import type { LeaseClient } from './lease-client';
import { type Term, keepExtending, newTerm } from './term';

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

/** A started elector's role; the lifecycle says whether it is started or closing. */
type Role = 'standby' | 'leader' | 'stepping-down';

/**
 * Leader election over a {@link LeaseClient} (Redlock) with fencing epochs in the data Redis.
 *
 * Standbys try to acquire in a bounded loop (retry delay + jitter, stopped by `close()`) and wake at once
 * when the leader announces a release on `keys.leaderChannel`. The leader extends the lease
 * `extendBeforeMs` before expiry and refreshes its record with a check-and-set; the moment an extension
 * fails, the lease expires unextended (e.g. the process was paused) or a newer epoch is announced, the
 * duties' `AbortSignal` fires and the replica steps down (resigns the record, releases the lease) instead
 * of carrying on. `close()` hands over: stop duties, delete the record (CAS), release the lease, announce.
 *
 * Who does what: one acquisition attempt (lease, then epoch) in acquire.ts, the renew loop in term.ts,
 * what an announcement means in announcements.ts; this class runs the loop, the duties and the status.
 */
export class LeaderElector {
  // Close does not wait for a start stuck on the SUBSCRIBE: the replica's shutdown must go on.
  private readonly lifecycle = new Lifecycle({ closeWaitsForStart: false });
  private role: Role | null = null;
  private notified: ElectorState = 'idle';
  private readonly fencing: FencingStore;
  private readonly duties = new Map<string, LeaderDuty>();
  private readonly listeners = new Set<(status: ElectorStatus) => void>();
  private quorumLostHook: QuorumLostHook | null = null;
  private readonly waker = new Waker();
  private term: Term | null = null;
  private loop: Promise<void> | null = null;
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

  /** Starts the election loop (does not wait for leadership). Idempotent; rejects once closing. */
  start(): Promise<void> {
    return this.lifecycle.start(async () => {
      this.options.subscriber.on('message', this.onMessage);
      await this.options.subscriber.subscribe(this.options.keys.leaderChannel);
      if (this.lifecycle.isClosing) return;
      this.setRole('standby');
      this.loop = this.run();
    });
  }

  private get state(): ElectorState {
    if (this.lifecycle.isClosing) return this.lifecycle.state === 'closed' ? 'closed' : 'closing';
    return this.role ?? 'idle';
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
    const state = this.state;
    const t = state === 'leader' ? this.term : null;
    return {
      id: this.options.id,
      state,
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
    const closed = this.lifecycle.close(async (was) => {
      this.notify();
      this.waker.wake();
      const t = this.term;
      if (t) {
        this.lose(t, 'shutting down', false);
        await t.ended;
      }
      await this.loop?.catch(() => undefined);
      if (was !== 'idle') {
        this.options.subscriber.off('message', this.onMessage);
        await this.options.subscriber.unsubscribe(this.options.keys.leaderChannel).catch(() => undefined);
      }
    });
    return closed.finally(() => this.notify());
  }

  /** Whether close() was called (a method, not a getter: a loop re-reads it after each await). */
  private stopping(): boolean {
    return this.lifecycle.isClosing;
  }

  private async run(): Promise<void> {
    const o = this.options;
    while (!this.stopping()) {
      const term = await this.tryLead().catch((err: unknown) => {
        this.lastError = `acquisition failed: ${err instanceof Error ? err.message : String(err)}`;
        o.logger.warn({ err }, 'leader acquisition attempt failed');
        return null;
      });
      if (term) {
        await this.serve(term);
        if (this.stopping()) break;
      }
      await this.waker.sleep(o.retryDelayMs + Math.floor(Math.random() * (o.retryJitterMs + 1)));
    }
  }

  private async tryLead(): Promise<Term | null> {
    const o = this.options;
    const got = await acquireLeadership({
      id: o.id,
      lease: o.lease,
      fencing: this.fencing,
      leaseResource: o.keys.leaderLease,
      leaseTtlMs: o.leaseTtlMs,
      retryDelayMs: o.retryDelayMs,
      stopping: () => this.stopping(),
    });
    if (!got.ok) {
      this.quorumUnavailable = got.quorumUnavailable;
      this.lastError = got.error;
      return null;
    }
    this.quorumUnavailable = false;
    const term = newTerm(got.lease, got.epoch);
    this.term = term;
    this.terms++;
    this.lastError = null;
    this.setRole('leader');
    o.logger.info({ epoch: term.epoch, leaseRemainingMs: term.lease.expiresAt - Date.now() }, 'became leader');
    metrics.leaderChanges.add(1, { change: 'acquired' });
    metrics.leaderEpoch.record(term.epoch);
    metrics.isLeader.record(1);
    await withSpan('leader.elected', { 'agent_bridge.leader_id': o.id, 'agent_bridge.epoch': term.epoch }, () =>
      o.connection.publish(o.keys.leaderChannel, announcement('elected', o.id, term.epoch)).catch(() => 0),
    );
    return term;
  }

  /** Runs one term: duties + extension, until lost; then steps down. */
  private async serve(term: Term): Promise<void> {
    const o = this.options;
    const ctx: LeaderContext = { leaderId: o.id, epoch: term.epoch, signal: term.controller.signal };
    const fenced = (reason: string): void => this.lose(term, reason, false);
    for (const [name, duty] of this.duties) term.duties.push(runDuty(name, duty, ctx, fenced, o.logger));
    await keepExtending(term, {
      lease: o.lease,
      fencing: this.fencing,
      leaseTtlMs: o.leaseTtlMs,
      extendBeforeMs: o.extendBeforeMs,
      lose: (reason, quorumLost) => this.lose(term, reason, quorumLost),
    });
    await this.stepDownTerm(term);
  }

  /** Fires the term's signal (once) with the reason. */
  private lose(term: Term, reason: string, quorumLost: boolean): void {
    if (term.controller.signal.aborted) return;
    term.lostReason = reason;
    term.quorumLost = quorumLost;
    if (this.state === 'leader') this.setRole('stepping-down');
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
        this.fencing.resign(term.lease.token, announcement('released', o.id, term.epoch)),
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
    metrics.leaderChanges.add(1, { change: this.stopping() ? 'released' : 'lost' });
    metrics.isLeader.record(0);
    this.setRole('standby');
    term.end();
  }

  private handleAnnouncement(channel: string, message: string): void {
    if (channel !== this.options.keys.leaderChannel) return;
    const t = this.term;
    const effect = announcementEffect(message, this.options.id, t?.epoch ?? null);
    if (effect.kind === 'lose' && t) this.lose(t, effect.reason, false);
    if (effect.kind === 'wake') this.waker.wake();
  }

  private setRole(role: Role): void {
    this.role = role;
    this.notify();
  }

  /** Tells the listeners when the state changed since they last heard. */
  private notify(): void {
    const status = this.getStatus();
    if (status.state === this.notified) return;
    this.notified = status.state;
    for (const l of this.listeners) {
      try {
        l(status);
      } catch (err) {
        this.options.logger.warn({ err }, 'elector listener failed');
      }
    }
  }
}
