import type { Tally } from './tally';
import type { Sample } from './usage';
import { type DeliveryFigures, percentile } from '../stats';

/** One line of the result table: one pipeline in one scenario. */
export interface Row extends DeliveryFigures {
  scenario: string;
  pipeline: string;
  sent: number;
  delivered: number;
  rate: number;
  /** Time the producer took to hand every event to the queue. */
  emitMs: number;
  /** Redis commands (all clients, Lua calls counted once) per delivered event. */
  redisPerEvent: number;
  /** CPU ms per 1,000 delivered events of the worker process and of the gateway process. */
  workerCpu: number;
  gatewayCpu: number;
}

/** The row of a scenario from what its subscribers saw and the work done between two samples. */
export function row(
  scenario: string,
  pipeline: string,
  tally: Tally,
  sent: number,
  elapsedMs: number,
  emitMs: number,
  before: Sample,
  after: Sample,
): Row {
  const per1k = (v: number): number => Math.round((v / Math.max(1, tally.unique)) * 1000);
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  return {
    scenario,
    pipeline,
    sent,
    delivered: tally.unique,
    lost: sent - tally.unique,
    duplicated: tally.duplicates,
    outOfOrder: tally.outOfOrder,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    rate: Math.round((tally.unique / elapsedMs) * 1000),
    emitMs,
    redisPerEvent: Math.round(((after.calls - before.calls) / Math.max(1, tally.unique)) * 10) / 10,
    workerCpu: per1k(after.worker - before.worker),
    gatewayCpu: per1k(after.gateway - before.gateway),
  };
}

export function printTable(rows: Row[]): void {
  const header = [
    'scenario',
    'pipeline',
    'sent',
    'delivered',
    'lost',
    'dup',
    'out-of-order',
    'p50 ms',
    'p99 ms',
    'max ms',
    'events/s',
    'emit ms',
    'redis cmds/event',
    'worker cpu ms/1k',
    'gateway cpu ms/1k',
  ];
  const cells = rows.map((r) => [
    r.scenario,
    r.pipeline,
    String(r.sent),
    String(r.delivered),
    String(r.lost),
    String(r.duplicated),
    String(r.outOfOrder),
    String(r.p50),
    String(r.p99),
    String(r.max),
    String(r.rate),
    String(r.emitMs),
    String(r.redisPerEvent),
    String(r.workerCpu),
    String(r.gatewayCpu),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string =>
    c.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}
