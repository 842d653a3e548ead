import { StandardEventType } from './event-types';
import type { EventEnvelope } from './events';
import type { RunStatus } from './socket';

/**
 * The `code` of the `agent_error` that ends a cancelled run (the agent SDK's `cancel()` writes it). A run
 * is cancelled by this code alone: the message is for people and may say anything.
 */
export const CANCELLED_CODE = 'cancelled';

const TERMINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>(['completed', 'failed', 'cancelled']);

/** Whether a run in this status is over: no event follows its terminal one. */
export function isTerminalRunStatus(status: RunStatus | null | undefined): boolean {
  return status != null && TERMINAL_RUN_STATUSES.has(status);
}

/**
 * The status a run has once `event` is committed: `completed` after `agent_completed`, `cancelled` after
 * an `agent_error` with code {@link CANCELLED_CODE}, `failed` after any other `agent_error`; null for every
 * other event (the run keeps its status). The bridge records this in the run registry; the client SDK
 * re-exports it so pages show the same status the registry holds.
 */
export function runStatusOfEvent(event: Pick<EventEnvelope, 'type' | 'payload'>): RunStatus | null {
  if (event.type === StandardEventType.AgentCompleted) return 'completed';
  if (event.type === StandardEventType.AgentError) {
    const code = (event.payload as { code?: unknown } | null)?.code;
    return code === CANCELLED_CODE ? 'cancelled' : 'failed';
  }
  return null;
}
