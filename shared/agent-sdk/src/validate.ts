import {
  EventTypeSchema,
  InvalidEventError,
  PayloadTooLargeError,
  StandardEventType,
  StandardPayloadSchemas,
  describeIssues,
  isStandardEventType,
  jsonSize,
  toIssues,
} from '@agent-bridge/protocol';

/**
 * Checks an event before it is numbered or enqueued: the type against {@link EventTypeSchema} (the `gap`
 * type is reserved for the bridge), a standard type's payload against its schema, and the payload's JSON
 * size against `maxPayloadBytes`.
 *
 * @throws InvalidEventError when the type or payload does not match its schema or is not JSON
 * @throws PayloadTooLargeError when the payload's JSON is larger than `maxPayloadBytes`
 */
export function validateEvent(type: string, payload: unknown, maxPayloadBytes: number): void {
  const t = EventTypeSchema.safeParse(type);
  if (!t.success) {
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
  if (isStandardEventType(type)) {
    const p = StandardPayloadSchemas[type].safeParse(payload);
    if (!p.success) {
      const issues = toIssues(p.error).map((i) => ({
        ...i,
        path: i.path === '(root)' ? 'payload' : `payload.${i.path}`,
      }));
      throw new InvalidEventError(`invalid ${type} payload: ${describeIssues(issues)}`, issues);
    }
  }
}
