import { z } from 'zod';
import { RunIdSchema, UserIdSchema } from './events';

/**
 * The catalogue of BullMQ jobs. Payload types and validation both derive from these schemas, so a
 * producer in another language can follow the same contract (documented in docs/protocol.md).
 */
export const JobName = {
  /** Queue `agent-events`: one event of a run; `data` is an `EventEnvelopeSchema`, job id = event id. */
  Event: 'event',
  /**
   * Queue `agent-events`: several events (of one or more runs; a run's events normally consecutive seqs in
   * emit order); `data` is an
   * {@link EventBatchJobSchema} (`{ events: EventEnvelope[] }`), job id from {@link eventBatchJobId}.
   * Each event is validated and committed as if it were its own `event` job (the commit is idempotent by seq).
   */
  Events: 'events',
  /** Queue `agent-bridge-control`: re-run the integration checks after an incident. */
  Recover: 'recover',
  /** Queue `agent-runs`: a user asked for a run; agent workers consume it. */
  StartRun: 'start_run',
} as const;

/** Most events in one `events` batch job. */
export const MAX_EVENTS_PER_BATCH_JOB = 1_000;

/**
 * The outer shape of an `events` batch job. The events are validated one by one by the consumer (an invalid
 * one is dead-lettered with its reason, the others still commit), hence `unknown` here.
 */
export const EventBatchJobSchema = z.object({
  events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_BATCH_JOB),
});

/**
 * The job id of an `events` batch job: `<first event id>~<number of events>~<digest>`, where the digest is
 * the first 16 hex digits of the SHA-1 of the event ids joined by `,`. Never equal to an event id (`~` is
 * not allowed in ids); the same events give the same id (a retried addBulk is not added twice) and
 * different sets of events never share one (BullMQ would silently drop the second). The count lets a
 * producer measure the queue depth in events from job ids alone ({@link eventsInJobId}).
 */
export function eventBatchJobId(events: readonly { id: string }[], sha1Hex: (text: string) => string): string {
  const digest = sha1Hex(events.map((e) => e.id).join(',')).slice(0, 16);
  return `${events[0]?.id ?? ''}~${events.length}~${digest}`;
}

/** How many events the job with this id carries: the count of an {@link eventBatchJobId}, else 1. */
export function eventsInJobId(jobId: string): number {
  const m = /~(\d+)~[0-9a-f]{16}$/.exec(jobId);
  return m ? Math.max(1, Number(m[1])) : 1;
}

/** A recovery job on the control queue; `RecoveryQueue` of the control plane validates what it adds. */
export const RecoverJobSchema = z.object({
  incidentId: z.string().min(1),
  reason: z.string(),
  requestedBy: z.string(),
  requestedAt: z.number().int(),
});
export type RecoverJob = z.output<typeof RecoverJobSchema>;

export const StartRunJobSchema = z.object({
  runId: RunIdSchema,
  userId: UserIdSchema,
  prompt: z.string().min(1),
  agent: z.string().min(1),
  requestedAt: z.number().int(),
  traceparent: z.string().optional(),
});
export type StartRunJob = z.output<typeof StartRunJobSchema>;

/** A record in the dead-letter queue: what was rejected and why. */
export interface DeadLetterRecord {
  queue: string;
  jobId: string | undefined;
  name: string;
  data: unknown;
  /** For one rejected event of an `events` batch job: its index in `data.events` (`data` is that event). */
  batchIndex?: number;
  reason: { code: string; message: string; details?: unknown };
  deadLetteredAt: number;
}
