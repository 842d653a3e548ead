import { type EventEnvelope, type RunStatus, type Subscription, runStatusOfEvent } from '@agent-bridge/client';
import { byId, child, pretty } from './dom';

/** The run on screen and what the page has drawn of it. */
export interface RunView {
  runId: string;
  sub: Subscription | null;
  /** Seqs delivered, in delivery order (read by the browser test through `window.chatDebug`). */
  seqs: number[];
  types: string[];
  /** The card of each tool call, by toolCallId, completed when its result arrives. */
  toolCards: Map<string, HTMLElement>;
  /** The thinking bubble being streamed into, if the last events were thinking. */
  thinking: HTMLElement | null;
  /** Its terminal event was delivered. */
  terminal: boolean;
  /** The status the registry reported last. */
  status: RunStatus;
  /** A subscribe ack came: the events that follow are live, the ones before were replayed. */
  live: boolean;
}

/** An event's payload, read field by field: the page shows what is there and tolerates what is not. */
type Payload = Record<string, unknown>;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** A card in the timeline, with its title and an empty body. */
function item(kind: string, title: string, seq: number): HTMLElement {
  const li = document.createElement('li');
  li.className = `item ${kind}`;
  li.dataset.seq = String(seq);
  const t = document.createElement('div');
  t.className = 'item-title';
  t.textContent = title;
  const body = document.createElement('div');
  body.className = 'item-body';
  li.append(t, body);
  byId('timeline').append(li);
  return li;
}

const bodyOf = (card: HTMLElement): HTMLElement => child(card, '.item-body');

function describeArgs(tool: string, args: unknown): string {
  const a = (args ?? {}) as Payload;
  if (tool === 'calculator') return `Calculating ${pretty(a.expression)}`;
  if (tool === 'search') return `Searching the knowledge base for "${pretty(a.query)}"`;
  if (tool === 'clock') return 'Reading the clock';
  return `args ${pretty(args)}`;
}

function describeResult(tool: string, result: unknown, out: HTMLElement): void {
  const r = (result ?? {}) as Payload;
  const line = (label: string, value: string): HTMLElement => {
    const div = document.createElement('div');
    const b = document.createElement('b');
    b.textContent = label;
    div.append(b, document.createTextNode(` ${value}`));
    out.append(div);
    return div;
  };
  if (tool === 'calculator' && r.value !== undefined) {
    line('=', pretty(r.value));
  } else if (tool === 'clock' && r.iso) {
    line('Now', `${pretty(r.iso)} (${pretty(r.weekday)})`);
  } else if (tool === 'search' && Array.isArray(r.hits)) {
    const hits = r.hits as Payload[];
    if (hits.length === 0) line('No match', '');
    for (const h of hits) line(text(h.title), `— ${text(h.snippet)}`).className = 'hit';
  } else {
    out.textContent = pretty(result);
  }
}

function scrollDown(): void {
  const view = byId('run-view');
  view.scrollTop = view.scrollHeight;
}

/** Closes the thinking bubble being streamed into, so the next thinking starts a new one. */
function endThinking(run: RunView): void {
  if (run.thinking) run.thinking.classList.remove('live');
  run.thinking = null;
}

/** A line in the timeline about the connection (not an event of the run). */
export function note(message: string, run: RunView | null): void {
  const li = document.createElement('li');
  li.className = 'item note';
  li.textContent = message;
  byId('timeline').append(li);
  if (run) endThinking(run);
  scrollDown();
}

/** A card saying the run could not be shown. */
export function showFailure(title: string, message: string): void {
  bodyOf(item('agent-error', title, 0)).textContent = message;
}

/** Empties the run view for `runId`. */
export function resetView(runId: string, prompt: string): void {
  byId('empty').hidden = true;
  byId('run-view').hidden = false;
  byId('run-id').textContent = runId;
  byId('prompt-bubble').textContent = prompt;
  byId('timeline').textContent = '';
  byId('events').textContent = '';
  byId('event-count').textContent = '0';
}

function renderToolExecuting(run: RunView, p: Payload, seq: number): void {
  const el = item('tool', '', seq);
  const title = child(el, '.item-title');
  title.innerHTML = '<span class="spinner"></span><span class="tick">✓</span>Tool <span class="tool-name"></span>';
  child(title, '.tool-name').textContent = text(p.tool);
  const summary = document.createElement('div');
  summary.className = 'summary args';
  summary.textContent = describeArgs(text(p.tool), p.args);
  bodyOf(el).append(summary);
  run.toolCards.set(text(p.toolCallId), el);
}

function renderToolCompleted(run: RunView, p: Payload, seq: number): void {
  const el = run.toolCards.get(text(p.toolCallId)) ?? item('tool', `Tool ${text(p.tool)}`, seq);
  el.classList.add('done');
  const body = bodyOf(el);
  const out = document.createElement('div');
  out.className = 'summary result';
  if (p.error) {
    el.classList.add('failed');
    out.textContent = `Failed: ${pretty(p.error)}`;
    body.append(out);
  } else {
    describeResult(text(p.tool), p.result, out);
    const raw = document.createElement('details');
    const label = document.createElement('summary');
    label.textContent = 'raw result';
    const pre = document.createElement('pre');
    pre.textContent = pretty(p.result);
    raw.append(label, pre);
    body.append(out, raw);
  }
}

/**
 * Draws one delivered event: a line in the event log, and a card (or more text in the thinking bubble)
 * in the timeline. `setStatus` is told the status the event gives the run.
 */
export function renderEvent(
  run: RunView,
  event: EventEnvelope,
  replayed: boolean,
  setStatus: (status: RunStatus) => void,
): void {
  const p = (event.payload ?? {}) as Payload;
  const li = document.createElement('li');
  li.dataset.seq = String(event.seq);
  li.dataset.type = event.type;
  li.textContent = `${String(event.seq)} ${event.type}`;
  if (replayed) li.classList.add('replayed');
  const events = byId('events');
  events.append(li);
  events.scrollTop = events.scrollHeight;
  byId('event-count').textContent = String(run.seqs.length);

  if (event.type === 'agent_thinking') {
    run.thinking ??= item('thinking live', 'Thinking', event.seq);
    bodyOf(run.thinking).textContent += text(p.delta);
    if (run.status === 'pending') setStatus('running');
  } else {
    endThinking(run);
    renderCard(run, event, p, setStatus);
  }
  if (runStatusOfEvent(event) !== null) run.terminal = true;
  scrollDown();
}

function renderCard(run: RunView, event: EventEnvelope, p: Payload, setStatus: (status: RunStatus) => void): void {
  switch (event.type) {
    case 'agent_started':
      bodyOf(item('started', 'Run started', event.seq)).textContent = `Agent ${text(p.agent)} picked up the run.`;
      if (run.status !== 'completed') setStatus('running');
      break;
    case 'tool_executing':
      renderToolExecuting(run, p, event.seq);
      break;
    case 'tool_completed':
      renderToolCompleted(run, p, event.seq);
      break;
    case 'agent_completed': {
      const out = p.output;
      bodyOf(item('answer', 'Answer', event.seq)).textContent =
        out && typeof out === 'object' && 'answer' in out ? pretty(out.answer) : pretty(out);
      setStatus('completed');
      break;
    }
    case 'agent_error': {
      // The status the registry records: cancelled by the error's code, never by its message.
      const status = runStatusOfEvent(event) ?? 'failed';
      const cancelled = status === 'cancelled';
      const el = item(`agent-error${cancelled ? ' cancelled' : ''}`, cancelled ? 'Cancelled' : 'Error', event.seq);
      bodyOf(el).textContent = text(p.message) || 'the agent failed';
      setStatus(status);
      break;
    }
    case 'gap':
      bodyOf(item('agent-error', 'Missing event', event.seq)).textContent =
        `seq ${pretty(p.missingSeq)} was lost: ${text(p.reason)}`;
      break;
    default:
      bodyOf(item('custom', event.type, event.seq)).textContent = pretty(p);
  }
}
