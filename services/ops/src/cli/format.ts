/** A value a table shows: null and undefined as `-`. */
type Cell = string | number | boolean | null | undefined;

/** Renders rows as an aligned plain-text table with a header line. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

/** "1.2 s ago" style age. */
export function ago(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms} ms ago`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}

/** ISO time of an epoch-ms timestamp. */
export function iso(ts: number | null | undefined): string {
  return ts ? new Date(ts).toISOString() : '-';
}

/** Milliseconds as "350 ms" / "1.5 s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A payload as one JSON line, cut at `max` characters. */
export function short(payload: unknown, max = 100): string {
  // JSON.stringify answers undefined for undefined (a payload-less event); its type says string.
  const s = (JSON.stringify(payload) as string | undefined) ?? '';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
