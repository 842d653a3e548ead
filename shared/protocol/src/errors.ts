/**
 * The error vocabulary of agent-bridge. Every error a caller can be expected to handle is one of these
 * named classes, carries a stable machine-readable `code` (also used on the wire) and, where it wraps
 * another failure, a `cause`.
 */

/** Stable error codes, shared by the SDKs, the gateway's acks and the dead-letter queue. */
export const ErrorCode = {
  InvalidRequest: 'INVALID_REQUEST',
  InvalidEvent: 'INVALID_EVENT',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  Backpressure: 'BACKPRESSURE',
  Unauthorized: 'UNAUTHORIZED',
  Forbidden: 'FORBIDDEN',
  NotFound: 'NOT_FOUND',
  RateLimited: 'RATE_LIMITED',
  TooManyConnections: 'TOO_MANY_CONNECTIONS',
  TooManyRuns: 'TOO_MANY_RUNS',
  Config: 'CONFIG',
  Fenced: 'FENCED',
  NotLeader: 'NOT_LEADER',
  IllegalState: 'ILLEGAL_STATE',
  Timeout: 'TIMEOUT',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The JSON form of an error on the wire (Socket.IO acks, dead-letter records, HTTP bodies). */
export interface WireError {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/** Base class of every agent-bridge error. */
export class AgentBridgeError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }

  /** The error as sent to a remote caller: code and message, never a stack. */
  toWire(): WireError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** One problem found while validating input, as `path: message`. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** A request (subscribe, start_run, ...) did not match its schema. */
export class InvalidRequestError extends AgentBridgeError {
  constructor(
    message: string,
    readonly issues: readonly ValidationIssue[] = [],
  ) {
    super(ErrorCode.InvalidRequest, message, { details: issues.length > 0 ? { issues } : undefined });
  }
}

/** An event (envelope or payload) did not match its schema. */
export class InvalidEventError extends AgentBridgeError {
  constructor(
    message: string,
    readonly issues: readonly ValidationIssue[] = [],
  ) {
    super(ErrorCode.InvalidEvent, message, { details: issues.length > 0 ? { issues } : undefined });
  }
}

/** A payload or message exceeded its configured size limit. */
export class PayloadTooLargeError extends AgentBridgeError {
  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number,
    what = 'payload',
  ) {
    super(ErrorCode.PayloadTooLarge, `${what} is ${sizeBytes} bytes, over the limit of ${limitBytes} bytes`, {
      details: { sizeBytes, limitBytes },
    });
  }
}

/** The events queue is deeper than its configured bound; the producer should slow down and retry. */
export class BackpressureError extends AgentBridgeError {
  constructor(
    readonly depth: number,
    readonly limit: number,
  ) {
    super(ErrorCode.Backpressure, `queue depth ${depth} is at or over the limit of ${limit}; retry later`, {
      details: { depth, limit },
    });
  }
}

/** No valid credentials were presented. */
export class UnauthorizedError extends AgentBridgeError {
  constructor(message = 'authentication required', options?: { cause?: unknown }) {
    super(ErrorCode.Unauthorized, message, options);
  }
}

/** Valid credentials, but not allowed to do this. */
export class ForbiddenError extends AgentBridgeError {
  constructor(message = 'not allowed') {
    super(ErrorCode.Forbidden, message);
  }
}

/** The thing asked for does not exist (or is not visible to the caller). */
export class NotFoundError extends AgentBridgeError {
  constructor(message: string) {
    super(ErrorCode.NotFound, message);
  }
}

/** The caller sent more than its rate limit allows. */
export class RateLimitedError extends AgentBridgeError {
  constructor(
    readonly retryAfterMs: number,
    readonly scope?: LimitScope,
  ) {
    super(ErrorCode.RateLimited, `rate limit exceeded; retry in ${retryAfterMs} ms`, {
      details: scope === undefined ? { retryAfterMs } : { retryAfterMs, scope },
    });
  }
}

/** Which client a limit counts: one user (token `sub`) or one client IP. */
export type LimitScope = 'user' | 'ip';

/** A user or client IP already holds as many open connections as its limit allows (over all gateways). */
export class TooManyConnectionsError extends AgentBridgeError {
  constructor(
    readonly scope: LimitScope,
    readonly limit: number,
  ) {
    super(ErrorCode.TooManyConnections, `too many open connections for this ${scope} (limit ${limit})`, {
      details: { scope, limit },
    });
  }
}

/** A user already has as many unfinished runs as its limit allows; start another when one has ended. */
export class TooManyRunsError extends AgentBridgeError {
  constructor(readonly limit: number) {
    super(ErrorCode.TooManyRuns, `too many unfinished runs (limit ${limit}); wait until one ends`, {
      details: { limit },
    });
  }
}

/** Configuration was invalid; `key` names the offending setting (its environment variable). */
export class ConfigError extends AgentBridgeError {
  constructor(
    message: string,
    readonly problems: readonly { key: string; message: string }[] = [],
  ) {
    super(ErrorCode.Config, message, { details: problems.length > 0 ? { problems } : undefined });
  }
}

/** A leader-only write was attempted with a fencing epoch that is no longer current. */
export class FencedError extends AgentBridgeError {
  constructor(
    readonly epoch: number,
    readonly currentEpoch: number | null,
  ) {
    super(
      ErrorCode.Fenced,
      `write fenced: epoch ${epoch} is not the current leader epoch (${currentEpoch ?? 'no leader'})`,
      { details: { epoch, currentEpoch } },
    );
  }
}

/** A leader-only operation was called on a replica that is not the leader. */
export class NotLeaderError extends AgentBridgeError {
  constructor(message = 'this replica is not the leader') {
    super(ErrorCode.NotLeader, message);
  }
}

/** A component was asked to do something its current state does not allow. */
export class IllegalStateError extends AgentBridgeError {
  constructor(
    readonly from: string,
    readonly action: string,
  ) {
    super(ErrorCode.IllegalState, `cannot ${action} while ${from}`, { details: { from, action } });
  }
}

/** Turns any thrown value into a wire error without leaking internals. */
export function toWireError(err: unknown): WireError {
  if (err instanceof AgentBridgeError) return err.toWire();
  return { code: ErrorCode.Internal, message: 'internal error' };
}
