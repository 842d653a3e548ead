/** An integer query parameter clamped to [min, max]; `fallback` when absent or not an integer. */
export function intParam(raw: unknown, fallback: number, min: number, max: number): number {
  const n = typeof raw === 'string' && raw !== '' ? Number(raw) : NaN;
  if (!Number.isInteger(n)) return fallback;
  return Math.min(Math.max(n, min), max);
}
