/** Rows, summaries (median and spread over rounds, ours/naive ratios) and the printed table of bench:agents. */
import type { Side } from './messages';

/** One phase: one side, one scenario, one round. Per-unit figures are per delivered unit (token or tool event). */
export interface Row {
  round: number;
  replicas: number;
  hog: boolean;
  side: Side;
  /** `"1000/s"` … or `"max"` (every run emits as fast as its awaited emits go). */
  scenario: string;
  targetRate: number | null;
  sentUnits: number;
  deliveredUnits: number;
  /** Events on the wire (after coalescing); includes agent_completed. */
  wireEvents: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Delivered units per second, first emit → last delivery. */
  deliveredPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Producer lateness behind the token schedule (median over producers of p50; max of p99 and max). */
  latenessP50Ms: number;
  latenessP99Ms: number;
  latenessMaxMs: number;
  /** Last delivery after the last producer finished, ms. */
  drainMs: number;
  /** CPU µs per delivered unit, by process kind (worker = bridge replicas or naive workers). */
  cpuUsPerUnit: { producer: number; worker: number; gateway: number; redis: number; watchers: number; total: number };
  redisCmdsPerUnit: number;
  /** The most frequent Redis commands, calls per delivered unit. */
  topCommands: Record<string, number>;
}

const METRICS = [
  'deliveredPerSec',
  'p50Ms',
  'p99Ms',
  'latenessP99Ms',
  'redisCmdsPerUnit',
  'cpu.producer',
  'cpu.worker',
  'cpu.gateway',
  'cpu.redis',
  'cpu.total',
  'wireEventsPerUnit',
] as const;
type Metric = (typeof METRICS)[number];

function metric(r: Row, m: Metric): number {
  if (m.startsWith('cpu.')) return r.cpuUsPerUnit[m.slice(4) as keyof Row['cpuUsPerUnit']];
  if (m === 'wireEventsPerUnit') return r.wireEvents / Math.max(1, r.deliveredUnits);
  return r[m as 'p50Ms'];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(values: number[]): Spread {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN };
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const r = (v: number): number => Math.round(v * 100) / 100;
  return { median: r(mid), min: r(s[0]!), max: r(s.at(-1)!) };
}

export interface SummaryRow {
  replicas: number;
  hog: boolean;
  scenario: string;
  side: Side;
  rounds: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  metrics: Record<Metric, Spread>;
  /** ours ÷ naive of the same round, median and spread over rounds (only on the `ours` rows). */
  ratioToNaive?: Record<Metric, Spread>;
}

const key = (r: Pick<Row, 'replicas' | 'hog' | 'scenario'>): string => `${r.replicas}|${String(r.hog)}|${r.scenario}`;

export function summarize(rows: Row[]): SummaryRow[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = `${key(r)}|${r.side}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: SummaryRow[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const metrics = Object.fromEntries(METRICS.map((m) => [m, spread(group.map((r) => metric(r, m)))])) as Record<
      Metric,
      Spread
    >;
    const row: SummaryRow = {
      replicas: first.replicas,
      hog: first.hog,
      scenario: first.scenario,
      side: first.side,
      rounds: group.length,
      lost: group.reduce((a, r) => a + r.lost, 0),
      duplicated: group.reduce((a, r) => a + r.duplicated, 0),
      outOfOrder: group.reduce((a, r) => a + r.outOfOrder, 0),
      metrics,
    };
    if (first.side === 'ours') {
      const pairs = group
        .map((o) => [o, rows.find((n) => n.side === 'naive' && n.round === o.round && key(n) === key(o))] as const)
        .filter((p): p is readonly [Row, Row] => p[1] !== undefined);
      row.ratioToNaive = Object.fromEntries(
        METRICS.map((m) => [m, spread(pairs.map(([o, n]) => metric(o, m) / metric(n, m)))]),
      ) as Record<Metric, Spread>;
    }
    out.push(row);
  }
  return out;
}

export function printSummary(summary: SummaryRow[]): void {
  const header = [
    'replicas',
    'hog',
    'scenario',
    'side',
    'lost/dup/ooo',
    'units/s',
    'p50 ms',
    'p99 ms',
    'late p99',
    'cpu µs/unit prod·work·gw·redis = total',
    'redis cmd/unit',
    'wire ev/unit',
    'ratio units/s · p99 · cpu',
  ];
  const f = (s: Spread): string => `${s.median}`;
  const cells = summary.map((s) => [
    String(s.replicas),
    s.hog ? 'hog' : '-',
    s.scenario,
    s.side === 'ours' ? 'agent-bridge' : 'naive glue',
    `${s.lost}/${s.duplicated}/${s.outOfOrder}`,
    `${f(s.metrics.deliveredPerSec)} (${s.metrics.deliveredPerSec.min}–${s.metrics.deliveredPerSec.max})`,
    f(s.metrics.p50Ms),
    `${f(s.metrics.p99Ms)} (${s.metrics.p99Ms.min}–${s.metrics.p99Ms.max})`,
    f(s.metrics.latenessP99Ms),
    `${Math.round(s.metrics['cpu.producer'].median)}·${Math.round(s.metrics['cpu.worker'].median)}·${Math.round(
      s.metrics['cpu.gateway'].median,
    )}·${Math.round(s.metrics['cpu.redis'].median)} = ${Math.round(s.metrics['cpu.total'].median)}`,
    f(s.metrics.redisCmdsPerUnit),
    f(s.metrics.wireEventsPerUnit),
    s.ratioToNaive
      ? `${s.ratioToNaive.deliveredPerSec.median} · ${s.ratioToNaive.p99Ms.median} · ${s.ratioToNaive['cpu.total'].median}`
      : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}
