import { type AgentRunEvents, runAgent } from './agent';
import { loadDocs } from './tools/search';

type Recorded = { type: string; payload: unknown };

function recorder(onEvent?: (e: Recorded, n: number) => void): { run: AgentRunEvents; events: Recorded[] } {
  const events: Recorded[] = [];
  const push = (type: string, payload: unknown): Promise<void> => {
    events.push({ type, payload });
    onEvent?.({ type, payload }, events.length);
    return Promise.resolve();
  };
  return {
    events,
    run: {
      thinking: (delta) => push('agent_thinking', { delta }),
      toolExecuting: (call) => push('tool_executing', call),
      toolCompleted: (call) => push('tool_completed', call),
      complete: (output) => push('agent_completed', output),
    },
  };
}

const docs = loadDocs();
const now = (): number => Date.UTC(2026, 0, 1, 12, 0, 0);

describe('demo agent run', () => {
  it('streams thinking deltas, then the tool call pair, then the answer', async () => {
    const { run, events } = recorder();
    const outcome = await runAgent(run, 'What is 17 * 23 + 4?', { docs, now, paceMs: 0 });
    expect(outcome).toEqual({ status: 'completed', answer: '17 * 23 + 4 = 395.' });
    const types = events.map((e) => e.type);
    // Collapse runs of thinking deltas to see the shape.
    expect(types.filter((t, i) => t !== 'agent_thinking' || types[i - 1] !== 'agent_thinking')).toEqual([
      'agent_thinking',
      'tool_executing',
      'tool_completed',
      'agent_thinking',
      'agent_completed',
    ]);
    expect(types.filter((t) => t === 'agent_thinking').length).toBeGreaterThan(20);
    const thought = events
      .filter((e) => e.type === 'agent_thinking')
      .map((e) => (e.payload as { delta: string }).delta)
      .join('');
    expect(thought).toBe(
      'Reading the request: "What is 17 * 23 + 4?". Let me work out which tools help here.\n' +
        'There is arithmetic in it, so I will ask the calculator for 17 * 23 + 4.\n' +
        'I have what I need. Writing the answer now.\n',
    );
    expect(events.find((e) => e.type === 'tool_executing')?.payload).toEqual({
      toolCallId: 'call-1',
      tool: 'calculator',
      args: { expression: '17 * 23 + 4' },
    });
    expect(events.find((e) => e.type === 'tool_completed')?.payload).toEqual({
      toolCallId: 'call-1',
      tool: 'calculator',
      result: { expression: '17 * 23 + 4', value: '395' },
    });
    expect(events.at(-1)).toEqual({ type: 'agent_completed', payload: { answer: '17 * 23 + 4 = 395.' } });
  });

  it('emits the same event sequence for the same prompt (only the clock value may differ)', async () => {
    const prompt = 'what time is it and how do leaders use fencing?';
    const a = recorder();
    const b = recorder();
    await runAgent(a.run, prompt, { docs, paceMs: 0, now: () => 1_000 });
    await runAgent(b.run, prompt, { docs, paceMs: 0, now: () => 2_000 });
    const shape = (events: Recorded[]): string[] =>
      events.map((e) => `${e.type}:${e.type === 'agent_thinking' ? (e.payload as { delta: string }).delta : ''}`);
    expect(shape(b.events)).toEqual(shape(a.events));
    expect(a.events.length).toBe(b.events.length);
  });

  it('reports a failing tool in tool_completed and still answers', async () => {
    const { run, events } = recorder();
    const outcome = await runAgent(run, 'compute 1/0 * (2+', { docs, now, paceMs: 0 });
    const completed = events.filter((e) => e.type === 'tool_completed').map((e) => e.payload);
    expect(completed[0]).toEqual({
      toolCallId: 'call-1',
      tool: 'calculator',
      error: 'Parenthesis ) expected (char 9)',
    });
    expect(outcome.status).toBe('completed');
    expect(outcome.status === 'completed' && outcome.answer).toMatch(/^The calculator could not help \(Parenthesis/);
    expect(events.at(-1)?.type).toBe('agent_completed');
  });

  it('stops at the next event once cancelled, without completing', async () => {
    const controller = new AbortController();
    const { run, events } = recorder((_e, n) => {
      if (n === 5) controller.abort();
    });
    const outcome = await runAgent(run, 'What is 17 * 23 + 4?', { docs, now, paceMs: 0, signal: controller.signal });
    expect(outcome).toEqual({ status: 'cancelled' });
    expect(events.length).toBe(5);
    expect(events.some((e) => e.type === 'agent_completed')).toBe(false);
  });
});
