import { z } from 'zod';
import { EventEnvelopeSchema, RunIdSchema, UserIdSchema } from './events';

/**
 * The catalogue of BullMQ jobs. Payload types and validation both derive from these schemas, so a
 * producer in another language can follow the same contract (documented in docs/protocol.md).
 */
export const JobName = {
  /** Queue `agent-events`: one event of a run; `data` is an {@link EventEnvelopeSchema}, job id = event id. */
  Event: 'event',
  /** Queue `agent-bridge-control`: re-run the integration checks after an incident. */
  Recover: 'recover',
  /** Queue `agent-runs`: a user asked for a run; agent workers consume it. */
  StartRun: 'start_run',
} as const;

export const EventJobSchema = EventEnvelopeSchema;

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
  reason: { code: string; message: string; details?: unknown };
  deadLetteredAt: number;
}
