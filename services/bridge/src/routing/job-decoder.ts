import {
  AgentBridgeError,
  ErrorCode,
  EventBatchJobSchema,
  type EventEnvelope,
  EventEnvelopeSchema,
  JobName,
  type WireError,
  describeIssues,
  toIssues,
  validateEvent,
} from '@agent-bridge/protocol';

/** A valid event of a job, with its index in the job (0 for an `event` job) and the data it came from. */
export interface DecodedEvent {
  event: EventEnvelope;
  index: number;
  data: unknown;
}

/** An invalid event of a job: dead-lettered with its index and reason, the others still commit. */
export interface InvalidEvent {
  index: number;
  data: unknown;
  reason: WireError;
}

/** What a job holds: its valid and invalid events, or a reason to reject the whole job. */
export type DecodedJob = { events: DecodedEvent[]; invalid: InvalidEvent[] } | { rejected: WireError };

/**
 * Turns a job of the events queue into events: an `events` job is a batch (outer shape checked once), any
 * other name is a batch of one. Each event is checked on its own: envelope schema, then the same content
 * check the agent SDK runs at emit (type, payload size, standard payload schema).
 */
export function decodeJob(job: { name: string; data: unknown }, maxPayloadBytes: number): DecodedJob {
  let items: unknown[];
  if (job.name === JobName.Events) {
    const outer = EventBatchJobSchema.safeParse(job.data);
    if (!outer.success) {
      const issues = toIssues(outer.error);
      return {
        rejected: {
          code: ErrorCode.InvalidEvent,
          message: `invalid events batch job: ${describeIssues(issues)}`,
          details: { issues },
        },
      };
    }
    items = outer.data.events;
  } else {
    items = [job.data];
  }
  const events: DecodedEvent[] = [];
  const invalid: InvalidEvent[] = [];
  for (const [index, data] of items.entries()) {
    const checked = checkEvent(data, maxPayloadBytes);
    if ('reason' in checked) invalid.push({ index, data, reason: checked.reason });
    else events.push({ event: checked.event, index, data });
  }
  if (job.name !== JobName.Events && invalid[0]) return { rejected: invalid[0].reason };
  return { events, invalid };
}

function checkEvent(data: unknown, maxPayloadBytes: number): { event: EventEnvelope } | { reason: WireError } {
  const parsed = EventEnvelopeSchema.safeParse(data);
  if (!parsed.success) {
    const issues = toIssues(parsed.error);
    return {
      reason: {
        code: ErrorCode.InvalidEvent,
        message: `invalid event envelope: ${describeIssues(issues)}`,
        details: { issues },
      },
    };
  }
  try {
    // Payload issues reported relative to the payload.
    validateEvent(parsed.data.type, parsed.data.payload, maxPayloadBytes, { payloadPath: '' });
  } catch (err) {
    if (err instanceof AgentBridgeError) return { reason: err.toWire() };
    throw err;
  }
  return { event: parsed.data };
}
