// Dead-letter view: lists GET /api/dlq (newest first, with reasons), shows one record, and requeues one
// (POST /api/dlq/:id/requeue) when the ops service is in write mode.
import type { DeadLetterDetail, RequeueResult } from '../src/dlq/dead-letters';
import type { DeadLetterPage } from '../src/server/ops-api-routes';
import { api, clock, el, fill, messageOf, poll, row } from './dom';

const POLL_MS = 2000;

function message(text: string, className = ''): void {
  const p = el('dlq-message');
  p.textContent = text;
  p.className = className;
}

async function show(id: string): Promise<void> {
  try {
    const rec = await api<DeadLetterDetail>(`/api/dlq/${encodeURIComponent(id)}`);
    const pre = el('dlq-detail');
    pre.textContent = JSON.stringify(rec, null, 2);
    pre.hidden = false;
  } catch (err) {
    message(`cannot show ${id}: ${messageOf(err)}`, 'fail');
  }
}

async function requeue(id: string): Promise<void> {
  try {
    // The requeue route insists on JSON: a cross-site form cannot send it.
    const r = await api<RequeueResult>(`/api/dlq/${encodeURIComponent(id)}/requeue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    message(`requeued ${id} as job ${r.jobId} on ${r.queue}`);
    await refresh();
  } catch (err) {
    message(`requeue of ${id} refused: ${messageOf(err)}`, 'fail');
  }
}

function button(label: string, onClick: () => Promise<void>): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.addEventListener('click', () => void onClick());
  return b;
}

function render(r: DeadLetterPage): void {
  el('dlq-total').textContent = `· ${r.total} in the queue`;
  el('dlq-mode').textContent = r.readOnly
    ? 'Read-only: requeue is off (AB_OPS_READ_ONLY=false turns it on).'
    : 'Write mode: requeue puts a record back on the events queue.';
  fill(
    'dlq',
    r.records.map((d) => {
      const runSeq = d.runId === null ? null : d.runId + (d.seq === null ? '' : ` · ${d.seq}`);
      const tr = row([clock(d.deadLetteredAt), d.jobId, runSeq, d.reason.code, d.reason.message, null]);
      tr.setAttribute('data-id', d.id);
      const actions = tr.lastElementChild;
      if (actions === null) return tr;
      actions.replaceChildren(button('show', () => show(d.id)));
      if (!r.readOnly && d.requeueable) actions.append(button('requeue', () => requeue(d.id)));
      return tr;
    }),
  );
}

async function refresh(): Promise<void> {
  try {
    render(await api<DeadLetterPage>('/api/dlq?limit=50'));
  } catch (err) {
    el('dlq-total').textContent = `· cannot read the dead-letter queue: ${messageOf(err)}`;
  }
}

/** Starts polling the dead-letter queue. */
export function startDeadLetters(): void {
  poll(refresh, () => POLL_MS);
}
