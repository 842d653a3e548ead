import { CANCELLED_CODE, type RunStatus, TERMINAL_EVENT_TYPES, isTerminalRunStatus, runStatusOfEvent } from './index';

describe('run status rules (one place for the bridge, the client SDK and the chat page)', () => {
  it('terminal events give the run its final status; any other event leaves it', () => {
    expect(runStatusOfEvent({ type: 'agent_completed', payload: { output: 1 } })).toBe('completed');
    expect(runStatusOfEvent({ type: 'agent_error', payload: { message: 'boom', code: 'E_TOOL' } })).toBe('failed');
    expect(runStatusOfEvent({ type: 'agent_error', payload: { message: 'stop', code: CANCELLED_CODE } })).toBe(
      'cancelled',
    );
    for (const type of ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'gap', 'custom']) {
      expect(runStatusOfEvent({ type, payload: {} })).toBeNull();
    }
    // Exactly the terminal event types end a run.
    const ending = ['agent_completed', 'agent_error', 'agent_thinking'].filter((t) =>
      runStatusOfEvent({ type: t, payload: {} }),
    );
    expect(ending.sort()).toEqual([...TERMINAL_EVENT_TYPES].sort());
  });

  it('cancelled is decided by the code alone, never by the words of the message', () => {
    expect(runStatusOfEvent({ type: 'agent_error', payload: { message: 'cancelled by the user' } })).toBe('failed');
    expect(runStatusOfEvent({ type: 'agent_error', payload: { message: 'x', code: 'CANCEL_FAILED' } })).toBe('failed');
    expect(runStatusOfEvent({ type: 'agent_error', payload: null })).toBe('failed');
  });

  it('completed, failed and cancelled are terminal; pending, running and unknown are not', () => {
    expect(['completed', 'failed', 'cancelled'].every((s) => isTerminalRunStatus(s as RunStatus))).toBe(true);
    expect(isTerminalRunStatus('pending')).toBe(false);
    expect(isTerminalRunStatus('running')).toBe(false);
    expect(isTerminalRunStatus(null)).toBe(false);
    expect(isTerminalRunStatus(undefined)).toBe(false);
  });
});
