import { AgentBridgeError, ErrorCode, type WireError } from '@agent-bridge/protocol';

/** Subscribe errors that end a subscription: retrying cannot make them succeed. */
export const FATAL_CODES: ReadonlySet<string> = new Set([
  ErrorCode.Forbidden,
  ErrorCode.NotFound,
  ErrorCode.InvalidRequest,
  ErrorCode.Unauthorized,
]);

/** The SDK's error for an error a gateway answered with. */
export function toError(wire: WireError): AgentBridgeError {
  return new AgentBridgeError(wire.code, wire.message, { details: wire.details });
}
