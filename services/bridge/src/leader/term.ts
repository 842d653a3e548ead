import { isAborted, sleepUnlessAborted } from './abortable';
import type { FencingStore } from './fencing';
import type { Lease, LeaseClient } from './lease-client';

/** One term of leadership: from the epoch issued to the record resigned. */
export interface Term {
  /** The lease as last extended. */
  lease: Lease;
  readonly epoch: number;
  /** Aborted (once) when the term ends; the duties' signal. */
  readonly controller: AbortController;
  readonly duties: Promise<void>[];
  /** Resolves when the step-down finished. */
  readonly ended: Promise<void>;
  readonly end: () => void;
  /** Why the term ended, once it did. */
  lostReason: string | null;
  /** Whether it ended because no quorum of lock masters answered (no other replica can lead either). */
  quorumLost: boolean;
}

/** A new, running term for `lease` and `epoch`. */
export function newTerm(lease: Lease, epoch: number): Term {
  let end: () => void = () => undefined;
  const ended = new Promise<void>((r) => (end = r));
  return {
    lease,
    epoch,
    controller: new AbortController(),
    duties: [],
    ended,
    end,
    lostReason: null,
    quorumLost: false,
  };
}

/** What {@link keepExtending} needs. Durations are ms. */
export interface RenewDeps {
  lease: LeaseClient;
  fencing: FencingStore;
  leaseTtlMs: number;
  /** Extend when this much validity is left. */
  extendBeforeMs: number;
  /** Ends the term (fires its signal once) with why, and whether the lock quorum is gone. */
  lose: (reason: string, quorumLost: boolean) => void;
}

/**
 * The leader's renew loop: extends the lease `extendBeforeMs` before it runs out and then refreshes the
 * leader record with a check-and-set, until the term's signal fires. Whatever goes wrong ends the term at
 * once through `lose` — a failed extension (quorum gone or lease lost), a record lost or taken over, or a
 * lease that expired before it could be extended: a watchdog fires at the lease's expiry even while an
 * extension hangs, so a paused process never acts on a lease it no longer holds.
 */
export async function keepExtending(term: Term, deps: RenewDeps): Promise<void> {
  const signal = term.controller.signal;
  const watchdog = (): NodeJS.Timeout =>
    setTimeout(
      () => deps.lose('lease expired without a successful extension (process paused or Redis slow)', false),
      Math.max(0, term.lease.expiresAt - Date.now()),
    );
  let dog = watchdog();
  try {
    while (!isAborted(signal)) {
      await sleepUnlessAborted(term.lease.expiresAt - deps.extendBeforeMs - Date.now(), signal);
      if (isAborted(signal)) return;
      const outcome = await extendOnce(term, deps);
      if (outcome === 'aborted') return;
      if (outcome !== 'extended') {
        deps.lose(outcome.reason, outcome.quorumLost);
        return;
      }
      clearTimeout(dog);
      dog = watchdog();
    }
  } finally {
    clearTimeout(dog);
  }
}

/** Why a term ends. */
interface Loss {
  reason: string;
  quorumLost: boolean;
}

/**
 * One extension of lease and record: `extended` when both are ours for another TTL, `aborted` when the
 * term ended meanwhile, else why it must end.
 */
async function extendOnce(term: Term, deps: RenewDeps): Promise<'extended' | 'aborted' | Loss> {
  if (Date.now() >= term.lease.expiresAt) {
    return { reason: 'lease expired before it could be extended (process paused?)', quorumLost: false };
  }
  const r = await deps.lease.extend(term.lease, deps.leaseTtlMs);
  if (isAborted(term.controller.signal)) return 'aborted';
  if (!r.ok) {
    return { reason: `lease extension failed (${r.reason}): ${r.detail}`, quorumLost: r.reason === 'unavailable' };
  }
  let mine = false;
  try {
    mine = await deps.fencing.extendRecord(r.lease.token, term.epoch, deps.leaseTtlMs);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { reason: `leader record refresh failed: ${detail}`, quorumLost: false };
  }
  if (!mine) return { reason: 'leader record lost or taken over (newer epoch)', quorumLost: false };
  term.lease = r.lease;
  return 'extended';
}
