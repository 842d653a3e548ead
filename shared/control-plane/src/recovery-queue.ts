import { randomUUID } from 'node:crypto';
import type { AppConfig } from '@agent-bridge/config';
import {
  IntegrationState,
  JobName,
  type PublishedState,
  type RecoverJob,
  RecoverJobSchema,
  type RecoveryResult,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { Queue } from 'bullmq';

/** Name of the custom backoff strategy of recovery jobs (the leader's worker registers it). */
const RECOVERY_BACKOFF = 'jittered-exponential';

/**
 * Delay before retry number `attemptsMade` (1-based): `base·2^(n-1)` capped at `max`, minus a random
 * share `jitter` of it. With jitter ≤ 0.5 each delay is at least the previous one's upper bound, so the
 * delays grow while retries from several incidents do not line up.
 */
export function recoveryBackoffMs(
  attemptsMade: number,
  recovery: AppConfig['recovery'],
  random: () => number = Math.random,
): number {
  const exp = Math.min(recovery.backoffMaxMs, recovery.backoffMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.max(0, Math.round(exp * (1 - recovery.jitter * random())));
}

/**
 * The incident a recovery request belongs to: the current DEGRADED/FAILED episode, identified by state and
 * `since` (so a leader change, or a request from the CLI, joins the same incident and the same job), or a
 * fresh manual incident when the integration looks fine.
 */
export function incidentIdFor(current: Pick<PublishedState, 'state' | 'since'>): string {
  return current.state === IntegrationState.Failed || current.state === IntegrationState.Degraded
    ? `${current.state.toLowerCase()}-${current.since}`
    : `manual-${Date.now()}-${randomUUID().slice(0, 8)}`;
}

/** The job id of an incident's recovery. BullMQ job ids must not contain ':'; keep them to a safe alphabet. */
export function recoveryJobId(incidentId: string): string {
  return `recover-${incidentId.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/**
 * The control queue of recovery jobs, as any process may request one (the bridge's `recoverIntegration()`,
 * `agent-bridge recover`): one job per incident (job id `recover-<incidentId>`, so a second request for the
 * same incident is not added twice while the job is stored), with attempts and the jittered exponential
 * backoff from config. Only the leader works the queue. Never closes the connection it is given.
 */
export class RecoveryQueue {
  readonly queue: Queue;

  constructor(
    private readonly config: AppConfig,
    connection: RedisConnection,
    prefix: string,
  ) {
    this.queue = new Queue(config.queues.control, { connection, prefix });
  }

  /** Enqueues recovery of `incidentId`; `enqueued: false` when a job for it is already stored. */
  async request(incidentId: string, reason: string, requestedBy: string): Promise<RecoveryResult> {
    const jobId = recoveryJobId(incidentId);
    if (await this.queue.getJob(jobId)) return { incidentId, jobId, enqueued: false };
    // Validated against the job catalogue so that nothing the worker cannot read reaches the queue.
    const data: RecoverJob = RecoverJobSchema.parse({ incidentId, reason, requestedBy, requestedAt: Date.now() });
    await this.queue.add(JobName.Recover, data, {
      jobId,
      attempts: this.config.recovery.attempts,
      backoff: { type: RECOVERY_BACKOFF },
      // Kept for a while so the same incident is not recovered twice; then it may be retried afresh.
      removeOnComplete: { age: 3_600, count: 1_000 },
      removeOnFail: { age: 24 * 3_600, count: 1_000 },
    });
    return { incidentId, jobId, enqueued: true };
  }

  /** Closes the queue object (not the connection, which the caller owns). */
  close(): Promise<void> {
    return this.queue.close();
  }
}
