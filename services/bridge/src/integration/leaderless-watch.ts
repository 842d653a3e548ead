import type { IntegrationStateReader } from '@agent-bridge/control-plane';
import { type CheckResult, IntegrationState } from '@agent-bridge/protocol';
import type { Logger } from '@agent-bridge/telemetry';
import { sleepUnlessAborted } from '../leader/abortable';
import type { LeaderElector } from '../leader/leader-elector';
import { CheckName } from './checks';
import type { IntegrationStateStore } from './state-store';

/** Options of a {@link LeaderlessWatch}. Durations are ms. */
export interface LeaderlessWatchOptions {
  /** This replica's id (named in the reason). */
  id: string;
  elector: LeaderElector;
  store: IntegrationStateStore;
  reader: IntegrationStateReader;
  /** No leader record for this long → publish FAILED (config `leader.absentFailMs`). */
  absentFailMs: number;
  /** How often the leader record is looked at. @defaultValue max(100, absentFailMs / 4) */
  pollMs?: number;
  logger: Logger;
}

/** States that claim events can flow (or are about to): a cluster without a leader must not keep them. */
const CLAIMS_TO_RUN: ReadonlySet<IntegrationState> = new Set([
  IntegrationState.Active,
  IntegrationState.Degraded,
  IntegrationState.Initializing,
]);

/**
 * Runs on every replica, leader or not: when no leader record has existed for `absentFailMs` (nobody can
 * hold the lease — e.g. the lock quorum is lost, or the lock masters are partitioned away), it publishes
 * FAILED with a failing `lease` check, through the leaderless transition script (written only while no
 * leader record exists, so it can never overwrite a live leader's state).
 *
 * Why not the leader: a leader that cannot hold its lease may not be able to tell quorum loss from a
 * slow vote, and a leader that died cannot write at all; the replicas that stay behind can. A normal
 * failover leaves no leader record for about the standbys' retry delay, far below the bound. The state
 * is FAILED within about leaseTtlMs (the old leader's record expires or is resigned) + absentFailMs +
 * pollMs of losing the quorum; the first leader elected afterwards moves it on (FAILED → ACTIVE).
 * Cost: one HMGET + PTTL per replica every `pollMs`.
 */
export class LeaderlessWatch {
  private readonly controller = new AbortController();
  private loop: Promise<void> | null = null;
  private absentSince: number | null = null;
  private readonly pollMs: number;

  constructor(private readonly options: LeaderlessWatchOptions) {
    if (!(options.absentFailMs > 0)) throw new RangeError('absentFailMs must be > 0');
    this.pollMs = options.pollMs ?? Math.max(100, Math.floor(options.absentFailMs / 4));
  }

  /** Starts watching. Idempotent. */
  start(): void {
    if (this.loop || this.controller.signal.aborted) return;
    this.loop = this.run();
  }

  /** Stops watching (waits for a tick in progress). Idempotent; never throws. */
  async close(): Promise<void> {
    this.controller.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      try {
        await this.tick();
      } catch (err) {
        // Redis unreachable: nothing can be published now; the next tick tries again.
        this.options.logger.debug({ err }, 'leaderless watch tick failed');
      }
      await sleepUnlessAborted(this.pollMs, signal);
    }
  }

  private async tick(): Promise<void> {
    const o = this.options;
    if (await o.elector.currentLeader()) {
      this.absentSince = null;
      return;
    }
    const now = Date.now();
    this.absentSince ??= now;
    const absentMs = now - this.absentSince;
    if (absentMs < o.absentFailMs || this.controller.signal.aborted) return;
    const current = await o.reader.current();
    if (!CLAIMS_TO_RUN.has(current.state)) return;
    const why = o.elector.getStatus().lastError ?? 'no replica acquired the lease';
    const detail = `no leader for ${absentMs} ms (seen by replica ${o.id}): ${why}`;
    const check: CheckResult = { name: CheckName.Lease, ok: false, severity: 'fail', latencyMs: 0, detail };
    const out = await o.store.transitionWithoutLeader('no-leader', current, IntegrationState.Failed, detail, [check]);
    if (out.done) o.logger.warn({ from: current.state, absentMs }, 'no leader: published FAILED');
  }
}
