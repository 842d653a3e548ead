import type { AppConfig } from '@agent-bridge/config';
import { recoveryBackoffMs } from '@agent-bridge/control-plane';
import type { RecoverJob } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';
import { type Job, Worker } from 'bullmq';

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
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await worker.close();
}
