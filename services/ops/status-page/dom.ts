// Helpers the three views of the status page share: element lookup, cell text, table rows, the one clock
// format, and the polling loop.

/** What a table cell shows; null and undefined read as a dash. */
export type Cell = string | number | boolean | null | undefined;

/** The element with this id. status.html has every id the views use, so a missing one is a bug: say which. */
export function el(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`status page: no element #${id}`);
  return found;
}

function text(value: Cell): string {
  return value === null || value === undefined ? '—' : String(value);
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * Wall-clock time of an epoch-ms timestamp, local time, 24-hour `HH:MM:SS` — the one format of the page:
 * tables, timeline and the charts' time axis (the locale's own format is 12-hour in some, e.g. en-US).
 * A missing (null or 0) timestamp reads as a dash.
 */
export function clock(ts: number | null | undefined): string {
  if (ts === null || ts === undefined || ts === 0) return '—';
  const d = new Date(ts);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

export function ago(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms ago`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}

export function duration(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function row(cells: readonly Cell[], className = ''): HTMLTableRowElement {
  const tr = document.createElement('tr');
  if (className !== '') tr.className = className;
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = text(c);
    tr.appendChild(td);
  }
  return tr;
}

/** Replaces the rows of table `tableId`. */
export function fill(tableId: string, rows: readonly HTMLTableRowElement[]): void {
  const body = el(tableId).querySelector('tbody');
  if (body === null) throw new Error(`status page: table #${tableId} has no tbody`);
  body.replaceChildren(...rows);
}

/** A `<dl>` of label → value pairs; each value's id is `idPrefix` + the label with non-letters as dashes. */
export function definitions(listId: string, idPrefix: string, pairs: readonly (readonly [string, Cell])[]): void {
  const list = el(listId);
  list.replaceChildren();
  for (const [label, value] of pairs) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = text(value);
    dd.id = idPrefix + label.replace(/[^a-z]+/g, '-');
    list.append(dt, dd);
  }
}

/** The message of a thrown value (a fetch failure, an error body). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Error body of the ops API (`{ error: { code, message } }`); other failures have none. */
interface ApiErrorBody {
  error?: { message?: string };
}

/**
 * Calls the ops API (same origin, so the browser sends the basic-auth credentials) and parses the JSON reply.
 * A failure throws with the API's error message when it sent one, else `HTTP <status>`.
 */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { cache: 'no-store', credentials: 'same-origin', ...init });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as ApiErrorBody | null;
    throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  }
  return (await res.json()) as T;
}

/**
 * Runs `task` now and again `delayMs()` after each run settles (never two at once, so a slow API is not
 * piled on). `task` reports its own failures.
 */
export function poll(task: () => Promise<void>, delayMs: () => number): void {
  const tick = (): void => {
    void task().finally(() => window.setTimeout(tick, delayMs()));
  };
  tick();
}
