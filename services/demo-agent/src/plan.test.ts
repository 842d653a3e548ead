import { findExpressions, planRun, thinkingDeltas } from './plan';

describe('demo agent plan (deterministic steps for a given prompt)', () => {
  it('plans calculator, clock and search calls in a fixed order with dense call ids', () => {
    const steps = planRun('What is (2+3)*4, what time is it, and how does gateway failover work?');
    expect(steps.map((s) => (s.kind === 'tool' ? `${s.tool}:${s.toolCallId}` : s.kind))).toEqual([
      'think',
      'think',
      'calculator:call-1',
      'think',
      'clock:call-2',
      'think',
      'search:call-3',
      'think',
      'answer',
    ]);
    expect(steps[2]).toEqual({
      kind: 'tool',
      toolCallId: 'call-1',
      tool: 'calculator',
      args: { expression: '(2+3)*4' },
    });
    expect(steps[6]).toEqual({
      kind: 'tool',
      toolCallId: 'call-3',
      tool: 'search',
      args: { query: 'gateway failover' },
    });
  });

  it('gives exactly the same plan for the same prompt, every time', () => {
    const prompt = 'compute 17 * 23 + 4 and tell me about leader fencing';
    const first = JSON.stringify(planRun(prompt));
    for (let i = 0; i < 20; i++) expect(JSON.stringify(planRun(prompt))).toBe(first);
  });

  it('searches with the whole prompt when no tool word is found', () => {
    const steps = planRun('hi');
    expect(steps.filter((s) => s.kind === 'tool')).toEqual([
      { kind: 'tool', toolCallId: 'call-1', tool: 'search', args: { query: 'hi' } },
    ]);
  });

  it('finds arithmetic expressions but not lone numbers', () => {
    expect(findExpressions('What is 17 * 23 + 4?')).toEqual(['17 * 23 + 4']);
    expect(findExpressions('compute (2+3)*4 and sqrt(16) please')).toEqual(['(2+3)*4', 'sqrt(16)']);
    expect(findExpressions('in 2024 there were 3 runs')).toEqual([]);
  });

  it('splits a thought into word deltas that join back to the exact text', () => {
    const text = 'Reading the request:  "x".\n';
    const deltas = thinkingDeltas(text);
    expect(deltas).toEqual(['Reading ', 'the ', 'request:  ', '"x".\n']);
    expect(deltas.join('')).toBe(text);
  });
});
