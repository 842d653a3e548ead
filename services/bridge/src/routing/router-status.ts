import type { LifecycleState } from '@agent-bridge/runtime';

/** What the router counts, per replica, since it started. */
export interface RouterCounts {
  /** Jobs currently being processed by this replica. */
  inFlight: number;
  /** Jobs taken from the queue (every attempt). */
  processed: number;
  /** Events appended to histories (including ones released from reorder buffers). */
  committed: number;
  /** Events parked in a reorder buffer. */
  buffered: number;
  /** Events already committed or buffered (retries, redeliveries). */
  duplicates: number;
  /** Jobs re-delayed because a run's reorder buffer was full (or its seq too far ahead, for a while). */
  delayedFull: number;
  /** Jobs that threw (Redis errors); BullMQ retries them. */
  errors: number;
}

/** Counters and state of an {@link EventRouter}, for health endpoints. */
export interface EventRouterStatus extends RouterCounts {
  state: LifecycleState;
  /** The events queue setting (`AB_EVENTS_QUEUE`; the base name of the partition queues). */
  queue: string;
  /** Every events queue this replica consumes (one per partition, plus a previous count's while it drains). */
  queues: string[];
  /** Jobs this replica processes at once, over all its queues. */
  concurrency: number;
  /** Jobs (or events of batch jobs) moved to the dead-letter queue. */
  deadLettered: number;
  /**
   * The latest worker or job error since this replica last completed a job; null once it completes one
   * again (a "Missing lock" left by a pause the replica has recovered from does not linger on `/status`).
   */
  lastError: string | null;
  /** When `lastError` happened (epoch ms), or null. */
  lastErrorAt: number | null;
}

/**
 * The router's counters and its latest error, shared by the workers (which report errors and completions)
 * and the pipeline (which counts outcomes).
 */
export class RouterStats {
  readonly counts: RouterCounts = {
    inFlight: 0,
    processed: 0,
    committed: 0,
    buffered: 0,
    duplicates: 0,
    delayedFull: 0,
    errors: 0,
  };
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;

  /** Records `err` as the replica's latest error. */
  noteError(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.lastErrorAt = Date.now();
  }

  /** Processing again: an earlier error is history (it stays in the log), not the replica's state. */
  clearError(): void {
    this.lastError = null;
    this.lastErrorAt = null;
  }

  /** A copy of the counters and the latest error. */
  snapshot(): RouterCounts & Pick<EventRouterStatus, 'lastError' | 'lastErrorAt'> {
    return { ...this.counts, lastError: this.lastError, lastErrorAt: this.lastErrorAt };
  }
}
