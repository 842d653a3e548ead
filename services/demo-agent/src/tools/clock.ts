/** What the clock tool returns. */
export interface ClockResult {
  /** ISO 8601 UTC time. */
  iso: string;
  /** Epoch milliseconds. */
  epochMs: number;
  /** Day of the week (UTC), e.g. `"Wednesday"`. */
  weekday: string;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Reads the clock (UTC). The only tool whose result differs between two runs of the same prompt. */
export function readClock(now: () => number = Date.now): ClockResult {
  const epochMs = now();
  const d = new Date(epochMs);
  return { iso: d.toISOString(), epochMs, weekday: WEEKDAYS[d.getUTCDay()] ?? 'unknown' };
}
