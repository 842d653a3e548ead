import type { AppConfig } from '@agent-bridge/config';
import { type DeadLetterRecord, type WireError, jsonSize } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { type Logger, metrics } from '@agent-bridge/telemetry';
import { Queue } from 'bullmq';

/** The identity of a rejected job (a BullMQ Job, or what is known of a job that could not be loaded). */
export interface RejectedJob {
  id: string | undefined;
  name: string;
  data: unknown;
  /** When the job was created (BullMQ `timestamp`); tells apart two jobs that reused one id. */
  timestamp: number;
}

/**
 * Writes rejection records to the dead-letter queue: one record per rejected job — or, with `entry`, per
 * rejected event of a batch job — with the reason. Idempotent for a retried attempt of the same job (the
 * record id is derived from the job id, its creation time and the batch index), while a later job that
 * reuses the id gets a record of its own.
 */
export class DeadLetterWriter {
  private readonly queue: Queue;
  /** Records written (every call, including idempotent repeats). */
  written = 0;

  constructor(
    private readonly config: AppConfig,
    connection: RedisConnection,
    bullPrefix: string,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue(config.queues.deadLetter, { connection, prefix: bullPrefix });
  }

  /** Records `job` (or its event at `entry.index`) as rejected for `reason`. */
  async write(job: RejectedJob, reason: WireError, entry?: { index: number; data: unknown }): Promise<void> {
    this.written++;
    metrics.eventsDeadLettered.add(1, { reason: reason.code });
    const limit = this.config.events.maxPayloadBytes;
    const data: unknown = entry ? entry.data : job.data;
    const size = jsonSize(data);
    const record: DeadLetterRecord = {
      queue: this.config.queues.events,
      jobId: job.id,
      name: job.name,
      // Keep the DLQ bounded: an oversized job is recorded by its size and a preview.
      data: size <= limit * 2 ? data : { truncated: true, sizeBytes: size, preview: safePreview(data, 1_024) },
      reason,
      deadLetteredAt: Date.now(),
    };
    if (entry) record.batchIndex = entry.index;
    this.logger.warn(
      { jobId: job.id, batchIndex: entry?.index, code: reason.code, reason: reason.message },
      'event dead-lettered',
    );
    const suffix = entry ? `-${entry.index}` : '';
    await this.queue.add('dead_letter', record, {
      // Ids may not contain ':'. The creation time tells a job that reused an id from the first one.
      jobId: `dlq-${(job.id ?? 'none').replaceAll(':', '_')}-${job.timestamp}${suffix}`,
      removeOnComplete: true,
    });
  }

  /** Closes the dead-letter queue (not the connection). */
  close(): Promise<void> {
    return this.queue.close();
  }
}

function safePreview(value: unknown, chars: number): string {
  try {
    // undefined for undefined (and functions), whatever its declared type says.
    const text = JSON.stringify(value) as string | undefined;
    return (text ?? '').slice(0, chars);
  } catch {
    return '(not JSON)';
  }
}
