import type { AppConfig } from '@agent-bridge/config';
import {
  AgentBridgeError,
  type DeadLetterRecord,
  ErrorCode,
  ForbiddenError,
  InvalidRequestError,
  JobName,
  type KeyLayout,
  NotFoundError,
  eventPartition,
  eventQueues,
} from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { Lifecycle } from '@agent-bridge/runtime';
import { type Job, type JobType, Queue } from 'bullmq';

/** Where dead-letter records sit: nobody consumes the queue, so they wait (other states only if moved by hand). */
const RECORD_STATES: JobType[] = ['waiting', 'prioritized', 'delayed', 'failed', 'completed'];

/** One dead-letter record as listed: what was rejected, where it came from and why. */
export interface DeadLetterSummary {
  /** Id of the record in the dead-letter queue (what `show` and `requeue` take). */
  id: string;
  /** Queue and job the rejected data came from. */
  queue: string;
  jobId: string | null;
  name: string;
  /** For one event of a batch job: its index in the batch. */
  batchIndex: number | null;
  /** Run and seq of the rejected event, when the data says so. */
  runId: string | null;
  seq: number | null;
  reason: { code: string; message: string };
  deadLetteredAt: number | null;
  /** False when the record keeps only a preview of the data (an oversized job): nothing to put back. */
  requeueable: boolean;
}

/** A record in full: the summary plus the stored data and the reason's details. */
export interface DeadLetterDetail extends DeadLetterSummary {
  data: unknown;
  reasonDetails: unknown;
}

/** What `requeue` did. */
export interface RequeueResult {
  id: string;
  /** The queue and job the data was put back as (`requeue-<record id>`). */
  queue: string;
  jobId: string;
  name: string;
}

/** Options of {@link DeadLetters}. */
export interface DeadLettersOptions {
  /** Refuse `requeue` (ForbiddenError). @defaultValue config `ops.readOnly` (AB_OPS_READ_ONLY) */
  readOnly?: boolean;
}

/** "CODE: message" of a record's reason, or a neutral text when the record has none. */
export function reasonText(record: Partial<DeadLetterRecord> | undefined): string {
  return record?.reason ? `${record.reason.code}: ${record.reason.message}` : 'dead-lettered';
}

/**
 * The dead-letter queue as operators use it — list, show, requeue — for the status page
 * (`/api/dlq…`) and the CLI (`agent-bridge dlq`). Records are written by the bridge
 * (`DeadLetterWriter`); this reads them and, in write mode, puts one back on the events queue.
 *
 * Requeue adds the stored data as a new job with id `requeue-<record id>` (a second requeue of the same
 * record while that job is kept is a no-op in BullMQ), then removes the record. If the data is rejected
 * again, the bridge writes a new record with the new reason; if it commits, it is delivered as any event
 * (the commit is idempotent by event id and seq, so a requeued event that was meanwhile committed is a
 * harmless duplicate). Given a connection, never closes it; `close()` closes its queue objects.
 */
export class DeadLetters {
  private readonly dlq: Queue;
  /** One per event partition, in partition order. */
  private readonly events: Queue[];
  private readonly readOnly: boolean;
  private readonly lifecycle = new Lifecycle();

  constructor(
    private readonly config: AppConfig,
    keys: KeyLayout,
    conn: RedisConnection,
    options: DeadLettersOptions = {},
  ) {
    this.readOnly = options.readOnly ?? config.ops.readOnly;
    const opts = { connection: conn, prefix: keys.bullPrefix, skipVersionCheck: true };
    this.dlq = new Queue(config.queues.deadLetter, opts);
    this.events = eventQueues(config.keyPrefix, config.queues.events, config.queues.eventPartitions).map(
      (ref) => new Queue(ref.name, { ...opts, prefix: ref.prefix }),
    );
    // Connection errors surface as failed calls; an unhandled 'error' event would crash the process.
    this.dlq.on('error', () => undefined);
    for (const q of this.events) q.on('error', () => undefined);
  }

  /** Whether requeue is refused. */
  get isReadOnly(): boolean {
    return this.readOnly;
  }

  /** Records in the dead-letter queue. */
  async count(): Promise<number> {
    return this.dlq.getJobCountByTypes(...RECORD_STATES);
  }

  /** Records newest first, `limit` from `offset`, and how many there are in all. */
  async list(
    options: { limit?: number; offset?: number } = {},
  ): Promise<{ total: number; records: DeadLetterSummary[] }> {
    const limit = Math.max(1, options.limit ?? 50);
    const offset = Math.max(0, options.offset ?? 0);
    const [total, jobs] = await Promise.all([
      this.count(),
      this.dlq.getJobs(RECORD_STATES, offset, offset + limit - 1, false),
    ]);
    return { total, records: jobs.slice(0, limit).map((job) => summarize(job)) };
  }

  /** One record in full. Throws NotFoundError when there is none with that id. */
  async get(id: string): Promise<DeadLetterDetail> {
    const job = await this.job(id);
    const rec = job.data as Partial<DeadLetterRecord> | undefined;
    return { ...summarize(job), data: rec?.data, reasonDetails: rec?.reason?.details };
  }

  /**
   * Puts a record's data back on the events queue and removes the record. ForbiddenError in read-only
   * mode, NotFoundError for an unknown id, InvalidRequestError when the record keeps only a preview.
   */
  async requeue(id: string): Promise<RequeueResult> {
    if (this.readOnly) {
      throw new ForbiddenError('the ops service is read-only (AB_OPS_READ_ONLY=true): requeue is refused');
    }
    const job = await this.job(id);
    const summary = summarize(job);
    if (!summary.requeueable) {
      throw new InvalidRequestError(`dead letter ${id} keeps only a preview of an oversized job: nothing to requeue`);
    }
    const rec = job.data as DeadLetterRecord;
    // One rejected event of a batch goes back as a single-event job; a whole job under its own name.
    const name = rec.batchIndex !== undefined ? JobName.Event : rec.name || JobName.Event;
    const jobId = `requeue-${id}`;
    // To its run's partition, as a producer would (any partition would do for order — the bridge consumes
    // them all and orders by seq — but this keeps a run's jobs where its backlog is).
    const partition = summary.runId ? eventPartition(summary.runId, this.events.length) : 0;
    const events = this.events[partition];
    // eventPartition answers below the count it is given: never hit.
    if (!events) {
      throw new AgentBridgeError(
        ErrorCode.Internal,
        `no events queue for partition ${partition} of ${this.events.length}`,
      );
    }
    await events.add(name, rec.data, {
      jobId,
      attempts: this.config.events.jobAttempts,
      backoff: { type: 'exponential', delay: this.config.events.jobBackoffMs },
      removeOnComplete: { count: 1_000 },
      removeOnFail: { count: 10_000 },
    });
    await job.remove();
    return { id, queue: events.name, jobId, name };
  }

  /** Closes the queue objects (not the connection). Idempotent. */
  close(): Promise<void> {
    return this.lifecycle.close(async () => {
      await Promise.allSettled([this.dlq.close(), ...this.events.map((q) => q.close())]);
    });
  }

  private async job(id: string): Promise<Job> {
    if (id.length === 0 || id.length > 512) throw new InvalidRequestError('a dead-letter id is 1..512 characters');
    const job = await this.dlq.getJob(id);
    if (!job) throw new NotFoundError(`dead letter ${id} not found`);
    return job;
  }
}

function summarize(job: Job): DeadLetterSummary {
  const rec = job.data as Partial<DeadLetterRecord> | undefined;
  const data = rec?.data as Record<string, unknown> | undefined;
  const first = Array.isArray(data?.['events']) ? (data['events'][0] as Record<string, unknown> | undefined) : data;
  const runId = typeof first?.['runId'] === 'string' ? first['runId'] : null;
  const seq = typeof first?.['seq'] === 'number' ? first['seq'] : null;
  return {
    id: job.id ?? '',
    queue: rec?.queue ?? '',
    jobId: rec?.jobId ?? null,
    name: rec?.name ?? job.name,
    batchIndex: rec?.batchIndex ?? null,
    runId,
    seq,
    reason: rec?.reason
      ? { code: rec.reason.code, message: rec.reason.message }
      : { code: 'UNKNOWN', message: 'dead-lettered' },
    deadLetteredAt: rec?.deadLetteredAt ?? job.timestamp,
    requeueable: !(data && data['truncated'] === true),
  };
}
