import { terms } from './tools/search';

/** Tools the demo agent can call. None of them needs the network. */
export type ToolName = 'calculator' | 'search' | 'clock';

/** One step of a plan: stream a thought, call a tool, or write the answer. */
export type PlanStep =
  | { kind: 'think'; text: string }
  | { kind: 'tool'; toolCallId: string; tool: ToolName; args: Record<string, string> }
  | { kind: 'answer' };

// A maximal stretch of numbers, operators, parentheses and a few function names; filtered afterwards.
const FUNCS = 'sqrt|abs|round|floor|ceil|log|exp';
const EXPRESSION = new RegExp(`(?:(?:${FUNCS})\\s*)?[\\d(](?:[\\d\\s.+\\-*/^%()]|${FUNCS})*[\\d)]`, 'gi');
const TIME_WORDS = /\b(time|clock|date|today|now|day|weekday|hour)\b/i;

/** The arithmetic expressions in a prompt, in order of appearance, trimmed (at most three). */
export function findExpressions(prompt: string): string[] {
  const found = (prompt.match(EXPRESSION) ?? [])
    .map((e) => e.trim())
    .map(balance)
    .filter((e) => /\d\s*\)?\s*[-+*/^%]\s*\(?\s*[\d(a-z]/i.test(e) || /^[a-z]+\s*\(/i.test(e));
  return [...new Set(found)].slice(0, 3);
}

// A match may take one parenthesis too many or too few at its edges; drop unbalanced edge parentheses.
function balance(expr: string): string {
  let e = expr;
  const count = (s: string, c: string): number => s.split(c).length - 1;
  while (e.startsWith('(') && count(e, '(') > count(e, ')')) e = e.slice(1).trim();
  while (e.endsWith(')') && count(e, ')') > count(e, '(')) e = e.slice(0, -1).trim();
  return e;
}

/**
 * The deterministic plan for a prompt: the same prompt always gives the same steps (tool results such as
 * the clock may differ between runs, the steps do not). Tool call ids are `call-1`, `call-2`, ... in order.
 */
export function planRun(prompt: string): PlanStep[] {
  const text = prompt.trim().replace(/\s+/g, ' ');
  const steps: PlanStep[] = [];
  let calls = 0;
  const tool = (name: ToolName, args: Record<string, string>): void => {
    calls += 1;
    steps.push({ kind: 'tool', toolCallId: `call-${calls}`, tool: name, args });
  };
  const quoted = text.length > 120 ? `${text.slice(0, 117)}...` : text;
  steps.push({ kind: 'think', text: `Reading the request: "${quoted}". Let me work out which tools help here.` });

  const expressions = findExpressions(text);
  for (const expression of expressions) {
    steps.push({ kind: 'think', text: `There is arithmetic in it, so I will ask the calculator for ${expression}.` });
    tool('calculator', { expression });
  }

  if (TIME_WORDS.test(text)) {
    steps.push({ kind: 'think', text: 'It asks about the time, so I will read the clock.' });
    tool('clock', {});
  }

  // Search with the words that are left once the arithmetic is taken out.
  let rest = text;
  for (const e of expressions) rest = rest.replace(e, ' ');
  const keywords = [...new Set(terms(rest))].filter((w) => !TIME_WORDS.test(w)).slice(0, 8);
  if (keywords.length > 0 || calls === 0) {
    const query = keywords.length > 0 ? keywords.join(' ') : text;
    steps.push({ kind: 'think', text: `Next I will search the knowledge base for: ${query}.` });
    tool('search', { query });
  }

  steps.push({ kind: 'think', text: 'I have what I need. Writing the answer now.' });
  steps.push({ kind: 'answer' });
  return steps;
}

/**
 * Splits a thought into the small deltas that are streamed as `agent_thinking` events: one word each,
 * with the whitespace that follows it, so joining the deltas gives back the text exactly.
 */
export function thinkingDeltas(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}
