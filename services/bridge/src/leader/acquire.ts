import { announcement } from './announcements';
import type { FencingStore } from './fencing';
import type { Lease, LeaseClient } from './lease-client';

/** What one acquisition attempt needs (the elector's options and fencing store). Durations are ms. */
export interface AcquireDeps {
  /** This replica's id (written to the leader record). */
  id: string;
  lease: LeaseClient;
  fencing: FencingStore;
  leaseResource: string;
  leaseTtlMs: number;
  retryDelayMs: number;
  /** Whether the elector is closing (then a lease just won is given back). */
  stopping: () => boolean;
}

/** Outcome of {@link acquireLeadership}: the lease and our new epoch, or why not (for `lastError`). */
export type Acquisition =
  { ok: true; lease: Lease; epoch: number } | { ok: false; error: string; quorumUnavailable: boolean };

/**
 * One attempt to lead: take the lease (one Redlock attempt), then have the fencing authority issue a new
 * epoch and write our leader record (atomically, checking the lease key when it lives in the data Redis).
 * Whatever fails, nothing is left held: a lease without an epoch is released, an epoch issued too late
 * (the lease ran out meanwhile, or the elector is closing) is resigned again.
 */
export async function acquireLeadership(deps: AcquireDeps): Promise<Acquisition> {
  const { id, lease: client, fencing, leaseTtlMs } = deps;
  const acquired = await client.acquire(deps.leaseResource, leaseTtlMs);
  if (!acquired.ok) {
    const unavailable = acquired.reason === 'unavailable';
    return {
      ok: false,
      quorumUnavailable: unavailable,
      error: unavailable ? `lock quorum unavailable: ${acquired.detail}` : `lease held by another replica`,
    };
  }
  const lease = acquired.lease;
  let issued = await fencing.issueEpoch(id, lease.token, leaseTtlMs, client.sharesDataRedis);
  // The previous leader's record outlives its lease by the few ms between its extend and record refresh.
  if (!issued.ok && issued.reason === 'held' && issued.pttlMs >= 0 && issued.pttlMs < deps.retryDelayMs) {
    const waitMs = issued.pttlMs + 5;
    await new Promise((r) => setTimeout(r, waitMs));
    issued = await fencing.issueEpoch(id, lease.token, leaseTtlMs, client.sharesDataRedis);
  }
  if (issued.ok && !deps.stopping() && lease.expiresAt > Date.now()) {
    return { ok: true, lease, epoch: issued.epoch };
  }
  await client.release(lease);
  if (issued.ok) await fencing.resign(lease.token, announcement('released', id, issued.epoch));
  const error = issued.ok
    ? 'lease expired while taking the epoch'
    : issued.reason === 'held'
      ? `leader record of ${issued.holderId} (epoch ${issued.holderEpoch}) still alive`
      : 'lease lost before the epoch was issued';
  return { ok: false, error, quorumUnavailable: false };
}
