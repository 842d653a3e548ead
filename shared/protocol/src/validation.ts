import type { z } from 'zod';
import { InvalidEventError, PayloadTooLargeError, type ValidationIssue } from './errors';
import { StandardEventType } from './event-types';
import { EventTypeSchema, StandardPayloadSchemas, isStandardEventType } from './events';

/** Flattens zod issues into `path: message` pairs for error details. */
export function toIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

/** One line that names every failing path, for error messages. */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

/** UTF-8 size of a value's JSON form; `Infinity` when it cannot be serialised. */
export function jsonSize(value: unknown): number {
  try {
    // Undefined for undefined, a function or a symbol; its type says string.
    const json = JSON.stringify(value) as string | undefined;
    return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * `agent_thinking { delta: string }` — the one payload of a token stream, checked without zod (its
 * schema is a loose object with a string `delta`, so this is the same check, at a fraction of the cost).
 */
function isThinkingPayload(type: string, payload: unknown): boolean {
  return (
    type === StandardEventType.AgentThinking &&
    typeof payload === 'object' &&
    payload !== null &&
    !Array.isArray(payload) &&
    typeof (payload as { delta?: unknown }).delta === 'string'
  );
}

/** Options of {@link validateEvent}. */
export interface ValidateEventOptions {
  /**
   * Prefix of payload issue paths in messages and details (`payload.delta`); `''` reports them relative to
   * the payload (`delta`). @defaultValue 'payload'
   */
  payloadPath?: string;
}

/**
 * The one check of an event's content, used by the agent SDK before it numbers or enqueues an event and by
 * the bridge for every job it takes: the type against {@link EventTypeSchema} (`gap` is reserved for the
 * bridge), the payload's JSON size against `maxPayloadBytes`, and a standard type's payload against its
 * schema.
 *
 * @throws InvalidEventError when the type or payload does not match its schema or is not JSON
 * @throws PayloadTooLargeError when the payload's JSON is larger than `maxPayloadBytes`
 */
export function validateEvent(
  type: string,
  payload: unknown,
  maxPayloadBytes: number,
  options: ValidateEventOptions = {},
): void {
  // A standard type is valid by construction: the regex runs for custom types only (hot path: every emit).
  const standard = isStandardEventType(type);
  const t = standard ? null : EventTypeSchema.safeParse(type);
  if (t && !t.success) {
    const issues = toIssues(t.error).map((i) => ({ ...i, path: 'type' }));
    throw new InvalidEventError(`invalid event type "${type}": ${describeIssues(issues)}`, issues);
  }
  if (type === StandardEventType.Gap) {
    throw new InvalidEventError('event type "gap" is reserved for the bridge', [{ path: 'type', message: 'reserved' }]);
  }
  const size = jsonSize(payload);
  if (size === Number.POSITIVE_INFINITY) {
    throw new InvalidEventError(`${type} payload cannot be serialised to JSON`, [
      { path: 'payload', message: 'not JSON-serialisable' },
    ]);
  }
  if (size > maxPayloadBytes) throw new PayloadTooLargeError(size, maxPayloadBytes);
  if (standard && !isThinkingPayload(type, payload)) {
    const p = StandardPayloadSchemas[type].safeParse(payload);
    if (!p.success) {
      const prefix = options.payloadPath ?? 'payload';
      const issues =
        prefix === ''
          ? toIssues(p.error)
          : toIssues(p.error).map((i) => ({ ...i, path: i.path === '(root)' ? prefix : `${prefix}.${i.path}` }));
      throw new InvalidEventError(`invalid ${type} payload: ${describeIssues(issues)}`, issues);
    }
  }
}
