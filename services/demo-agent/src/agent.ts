import { type PlanStep, type ToolName, planRun, thinkingDeltas } from './plan';
import { type CalculatorResult, calculate } from './tools/calculator';
import { type ClockResult, readClock } from './tools/clock';
import { type Doc, type SearchResult, searchDocs } from './tools/search';

/**
 * What the demo agent needs from a run of the agent SDK: the standard events, in emit order. Each call
 * resolves once the event is accepted by the queue (its seq is assigned at the call).
 */
export interface AgentRunEvents {
  thinking(delta: string): Promise<unknown>;
  toolExecuting(call: { toolCallId: string; tool: string; args: unknown }): Promise<unknown>;
  toolCompleted(call: { toolCallId: string; tool: string; result?: unknown; error?: string }): Promise<unknown>;
  complete(output: unknown): Promise<unknown>;
}

/** How one run of the demo agent ended. */
export type AgentOutcome = { status: 'completed'; answer: string } | { status: 'cancelled' };

export interface RunAgentOptions {
  /** Pause between two thinking deltas, and before/after tool calls. @defaultValue 0 */
  paceMs?: number;
  /** Aborted when the user cancels the run: the agent stops before its next event. */
  signal?: AbortSignal;
  /** Documents the search tool searches. */
  docs: readonly Doc[];
  /** Clock of the clock tool. @defaultValue Date.now */
  now?: () => number;
}

/** One tool call's outcome, as reported in `tool_completed` and used by the answer. */
export type ToolOutcome =
  | { tool: 'calculator'; args: Record<string, string>; result?: CalculatorResult; error?: string }
  | { tool: 'search'; args: Record<string, string>; result?: SearchResult; error?: string }
  | { tool: 'clock'; args: Record<string, string>; result?: ClockResult; error?: string };

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs one tool; a tool that throws gives an outcome with `error` (the agent goes on). */
export function runTool(tool: ToolName, args: Record<string, string>, options: RunAgentOptions): ToolOutcome {
  try {
    switch (tool) {
      case 'calculator':
        return { tool, args, result: calculate(args.expression ?? '') };
      case 'search':
        return { tool, args, result: searchDocs(options.docs, args.query ?? '') };
      case 'clock':
        return { tool, args, result: readClock(options.now) };
    }
  } catch (err) {
    return { tool, args, error: (err as Error).message };
  }
}

/** The final answer, written from the prompt and the tool outcomes (deterministic given the outcomes). */
export function composeAnswer(outcomes: readonly ToolOutcome[]): string {
  const parts: string[] = [];
  for (const o of outcomes) {
    if (o.error !== undefined) {
      parts.push(`The ${o.tool} could not help (${o.error}).`);
    } else if (o.tool === 'calculator' && o.result) {
      parts.push(`${o.result.expression} = ${o.result.value}.`);
    } else if (o.tool === 'clock' && o.result) {
      parts.push(`It is ${o.result.iso} (UTC), a ${o.result.weekday}.`);
    } else if (o.tool === 'search' && o.result) {
      if (o.result.hits.length === 0) {
        parts.push(`The knowledge base has nothing about "${o.result.query}".`);
      } else {
        const hits = o.result.hits.map((h) => `- ${h.title}: ${h.snippet}`);
        parts.push(`From the knowledge base:\n${hits.join('\n')}`);
      }
    }
  }
  return parts.join('\n\n');
}

/**
 * Runs the deterministic plan of `prompt` on `run`: thinking streamed word by word, a
 * `tool_executing` / `tool_completed` pair per tool call, then `agent_completed` with the answer.
 * Checks `signal` before every event and returns `{ status: 'cancelled' }` as soon as it is aborted (the
 * caller records the cancellation). Errors of `run` (e.g. backpressure) propagate.
 */
export async function runAgent(run: AgentRunEvents, prompt: string, options: RunAgentOptions): Promise<AgentOutcome> {
  const pace = options.paceMs ?? 0;
  const signal = options.signal;
  const steps: PlanStep[] = planRun(prompt);
  const outcomes: ToolOutcome[] = [];
  for (const step of steps) {
    if (signal?.aborted) return { status: 'cancelled' };
    if (step.kind === 'think') {
      // The line break that ends a thought travels with its last word.
      for (const delta of thinkingDeltas(`${step.text}\n`)) {
        if (signal?.aborted) return { status: 'cancelled' };
        await run.thinking(delta);
        await sleep(pace, signal);
      }
    } else if (step.kind === 'tool') {
      await run.toolExecuting({ toolCallId: step.toolCallId, tool: step.tool, args: step.args });
      // Tools are instant here; a short pause makes the tool card visible while it "runs".
      await sleep(pace * 8, signal);
      if (signal?.aborted) return { status: 'cancelled' };
      const outcome = runTool(step.tool, step.args, options);
      outcomes.push(outcome);
      await run.toolCompleted(
        outcome.error !== undefined
          ? { toolCallId: step.toolCallId, tool: step.tool, error: outcome.error }
          : { toolCallId: step.toolCallId, tool: step.tool, result: outcome.result },
      );
      await sleep(pace, signal);
    } else {
      const answer = composeAnswer(outcomes);
      await run.complete({ answer });
      return { status: 'completed', answer };
    }
  }
  /* c8 ignore next */
  throw new Error('plan without an answer step');
}
