import { z } from 'zod';
import { type StandardEventType } from './event-types';

/**
 * Identifiers that travel in Redis keys and BullMQ job ids: no `:` (BullMQ), no braces (Redis Cluster
 * hash tags), not all digits (BullMQ reserves numeric ids).
 */
export const IdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "." and "-" only, starting with a letter or digit')
  .refine((s) => !/^\d+$/.test(s), 'must not be all digits');

export const RunIdSchema = IdSchema.describe('run id');
export const EventIdSchema = IdSchema.describe('event id');
export const UserIdSchema = z.string().min(1).max(256);

export const EventTypeSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_.-]*$/, 'lower-case letters, digits, "_", "." and "-", starting with a letter');

/** Payload schemas of the standard events; custom events carry any JSON value. */
export const StandardPayloadSchemas = {
  agent_started: z.object({ agent: z.string().min(1), input: z.unknown().optional() }).loose(),
  agent_thinking: z.object({ delta: z.string() }).loose(),
  tool_executing: z
    .object({ toolCallId: z.string().min(1), tool: z.string().min(1), args: z.unknown().optional() })
    .loose(),
  tool_completed: z
    .object({
      toolCallId: z.string().min(1),
      tool: z.string().min(1),
      result: z.unknown().optional(),
      error: z.string().optional(),
    })
    .loose(),
  agent_completed: z.object({ output: z.unknown().optional() }).loose(),
  agent_error: z.object({ message: z.string().min(1), code: z.string().optional() }).loose(),
  gap: z.object({ missingSeq: z.number().int().positive(), reason: z.string() }),
} as const satisfies Record<StandardEventType, z.ZodType>;

/**
 * The event envelope, the unit of the wire contract.
 * - `id` is unique per event and is the idempotency key (a retried emit reuses it).
 * - `seq` is dense per run, starting at 1, in emit order.
 * - `epoch` identifies the incarnation of the run's history; producers send 0 and the bridge stamps it at
 *   commit. A client that saw another epoch knows the history it had was lost.
 * - `ts` is epoch milliseconds at emit. `traceparent` is W3C trace context of the emit span.
 */
export const EventEnvelopeSchema = z.object({
  id: EventIdSchema,
  runId: RunIdSchema,
  seq: z.number().int().positive(),
  epoch: z.number().int().nonnegative(),
  type: EventTypeSchema,
  ts: z.number().int().nonnegative(),
  payload: z.unknown(),
  traceparent: z.string().max(128).optional(),
});

/**
 * One event of a run as stored and delivered (see {@link EventEnvelopeSchema} for the bounds). Written out
 * rather than inferred from the schema so the published client's type declarations need no zod.
 */
export interface EventEnvelope {
  id: string;
  runId: string;
  /** Dense per-run sequence number, from 1. */
  seq: number;
  epoch: number;
  type: string;
  /** Epoch ms when the agent emitted it. */
  ts: number;
  payload: unknown;
  traceparent?: string | undefined;
}

/** `true` only when A and B are mutually assignable: keeps a written-out type and its schema together. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// The interface and the schema cannot drift apart.
const _envelopeMatchesSchema: Same<EventEnvelope, z.output<typeof EventEnvelopeSchema>> = true;

/** Whether `type` is one of the standard types. */
export function isStandardEventType(type: string): type is StandardEventType {
  return Object.prototype.hasOwnProperty.call(StandardPayloadSchemas, type);
}
