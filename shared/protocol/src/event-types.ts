// No zod here: the client SDK imports these constants and must not bundle the schemas (size budget).

/** The standard event types of a run. Any other type matching {@link EventTypeSchema} is a custom event. */
export const StandardEventType = {
  AgentStarted: 'agent_started',
  AgentThinking: 'agent_thinking',
  ToolExecuting: 'tool_executing',
  ToolCompleted: 'tool_completed',
  AgentCompleted: 'agent_completed',
  AgentError: 'agent_error',
  /** Written by the bridge (never by an agent) when a seq never arrived and the run was unstuck. */
  Gap: 'gap',
} as const;
export type StandardEventType = (typeof StandardEventType)[keyof typeof StandardEventType];

/** Event types that end a run. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set([
  StandardEventType.AgentCompleted,
  StandardEventType.AgentError,
]);
