import type { AppConfig } from '@agent-bridge/config';
import { recoveryBackoffMs } from '@agent-bridge/control-plane';
import { NotLeaderError, type RecoverJob } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { type Logger, metrics } from '@agent-bridge/telemetry';
import { type Job, Worker } from 'bullmq';
import type { LeaderContext } from '../leader/duty';
import { failingChecks, summarize } from './checks';
import { type RecoveryOutcome, recoveryOutcome } from './evaluation';
import type { IntegrationStateStore } from './state-store';
import type { IntegrationDriver } from './transitions';

/**
 * Works the control queue of recovery jobs (requested through `RecoveryQueue` of the control plane) one
 * at a time until `signal` aborts — leader-only: the elector runs this as a duty — then closes the worker,
 * waiting for the job in progress. Retries back off as `recoveryBackoffMs` says, from config.
 */
export async function workRecoveryQueue(
  config: AppConfig,
  connection: RedisConnection,
  prefix: string,
  process: (job: Job<RecoverJob>) => Promise<void>,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  if (signal.aborted) return;
  const worker = new Worker<RecoverJob>(config.queues.control, process, {
    connection,
    prefix,
    concurrency: 1,
    settings: { backoffStrategy: (attemptsMade) => recoveryBackoffMs(attemptsMade, config.recovery) },
  });
  worker.on('error', (err) => logger.warn({ err }, 'recovery worker error'));
  await new Promise<void>((resolve) => {
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await worker.close();
}

/** What {@link processRecovery} works with. */
export interface RecoveryDeps {
  /** The current term, or null when this replica does not lead (the elector's `context`). */
  context: () => LeaderContext | null;
  driver: IntegrationDriver;
  store: IntegrationStateStore;
  logger: Logger;
}

/** The `recoveries` metric's outcome for each logged outcome. */
const METRIC_OUTCOME: Readonly<Record<RecoveryOutcome, string>> = {
  recovered: 'succeeded',
  'gave-up': 'failed',
  'still-failing': 'retrying',
};

/**
 * One attempt of a recovery job: an ensure attempt under the current term, logged (fenced) in the recovery
 * log. Throws while the integration is not ACTIVE, so BullMQ retries with backoff until the job's attempts
 * run out; NotLeaderError when the job reached a replica that no longer leads.
 */
export async function processRecovery(job: Job<RecoverJob>, deps: RecoveryDeps): Promise<void> {
  const ctx = deps.context();
  if (!ctx) throw new NotLeaderError('recovery job picked up by a replica that no longer leads');
  const attempt = job.attemptsMade + 1;
  const result = await deps.driver.ensure(ctx, `recovery ${job.id ?? ''} attempt ${attempt}`);
  const outcome = recoveryOutcome(result.state, attempt, job.opts.attempts ?? 1);
  metrics.recoveries.add(1, { outcome: METRIC_OUTCOME[outcome] });
  await deps.store.logRecovery(ctx.epoch, {
    incidentId: job.data.incidentId,
    jobId: job.id ?? '',
    attempt,
    outcome,
    state: result.state,
    leaderId: ctx.leaderId,
    epoch: ctx.epoch,
    at: Date.now(),
    failingChecks: failingChecks(result.checks),
  });
  deps.logger.info({ jobId: job.id, attempt, state: result.state }, 'recovery attempt finished');
  if (outcome !== 'recovered') throw new Error(`still ${result.state}: ${summarize(result.checks)}`);
}
