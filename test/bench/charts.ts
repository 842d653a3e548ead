/**
 * Renders the charts of BENCHMARKS.md from a `bench:agents` JSON: SVG built here from the summary
 * (medians, with min–max whiskers), turned into PNG by headless Chromium (playwright-core).
 *
 *   npm run docs:bench-charts -- <agents.json> [out-dir=docs/images/bench] [--chromium /usr/bin/chromium] [--tables-only]
 *
 * It also prints the summary as a Markdown table.
 *
 * Charts: delivered units/s vs target rate, p99 latency vs target rate (both sides, with and without the
 * CPU hog when the JSON has it), CPU µs per delivered unit by process kind, and throughput by replicas.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import type { Spread, SummaryRow } from './agents/report';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    /** Print the Markdown table only (no charts). */
    'tables-only': { type: 'boolean', default: false },
  },
});
const usage = (): never => {
  throw new Error('usage: charts.ts <agents.json> [out-dir]');
};
const input = positionals[0] || usage();
const outDir = resolve(positionals[1] ?? 'docs/images/bench');
const { summary, meta } = JSON.parse(readFileSync(input, 'utf8')) as {
  summary: SummaryRow[];
  meta: Record<string, unknown>;
};

const W = 760;
const H = 380;
const M = { l: 70, r: 190, t: 40, b: 50 };
const COLORS: Record<string, string> = { ours: '#1f77b4', naive: '#d62728' };
const KIND_COLORS = { producer: '#6baed6', worker: '#fd8d3c', gateway: '#74c476', redis: '#9e9ac8' };
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const sideName = (s: string): string => (s === 'ours' ? 'agent-bridge' : 'naive glue');

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v) ?? v;
}

function frame(title: string, yLabel: string, yMax: number, xs: string[], body: string, legend: string[]): string {
  const ph = H - M.t - M.b;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const y = M.t + ph * (1 - f);
      return `<line x1="${M.l}" x2="${W - M.r}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${M.l - 6}" y="${y + 4}" text-anchor="end">${Math.round(yMax * f).toLocaleString('en')}</text>`;
    })
    .join('');
  const pw = W - M.l - M.r;
  const xl = xs
    .map(
      (x, i) =>
        `<text x="${M.l + (pw * (i + 0.5)) / xs.length}" y="${H - M.b + 18}" text-anchor="middle">${esc(x)}</text>`,
    )
    .join('');
  const lg = legend.map((l, i) => `<g transform="translate(${W - M.r + 12},${M.t + 18 * i})">${l}</g>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.l}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>
<text transform="translate(16,${M.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>
${ticks}${xl}<text x="${M.l + pw / 2}" y="${H - 10}" text-anchor="middle">target rate (units/s; max = every run emits as fast as its awaited emits go)</text>
${body}${lg}</svg>`;
}

function legendLine(color: string, dashed: boolean, label: string): string {
  return `<line x1="0" x2="22" y1="0" y2="0" stroke="${color}" stroke-width="2.5"${dashed ? ' stroke-dasharray="5,3"' : ''}/><text x="28" y="4">${esc(label)}</text>`;
}

/** One line per (side, hog) over the scenarios, median points and min–max whiskers. */
function lineChart(title: string, yLabel: string, pick: (s: SummaryRow) => Spread, replicas: number): string {
  const rows = summary.filter((s) => s.replicas === replicas);
  const xs = [...new Set(rows.map((s) => s.scenario))];
  const yMax = niceMax(Math.max(...rows.map((s) => pick(s).max)));
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const x = (i: number): number => M.l + (pw * (i + 0.5)) / xs.length;
  const y = (v: number): number => M.t + ph * (1 - Math.min(v, yMax) / yMax);
  let body = '';
  const legend: string[] = [];
  for (const hog of [...new Set(rows.map((s) => s.hog))]) {
    for (const side of ['ours', 'naive']) {
      const pts = xs
        .map((sc, i) => [i, rows.find((s) => s.side === side && s.hog === hog && s.scenario === sc)] as const)
        .filter((p): p is readonly [number, SummaryRow] => p[1] !== undefined);
      const color = COLORS[side]!;
      const dash = hog ? ' stroke-dasharray="5,3"' : '';
      body += `<polyline fill="none" stroke="${color}" stroke-width="2.5"${dash} points="${pts.map(([i, s]) => `${x(i)},${y(pick(s).median)}`).join(' ')}"/>`;
      for (const [i, s] of pts) {
        const v = pick(s);
        body += `<line x1="${x(i)}" x2="${x(i)}" y1="${y(v.min)}" y2="${y(v.max)}" stroke="${color}" stroke-width="1"/>`;
        body += `<circle cx="${x(i)}" cy="${y(v.median)}" r="3.5" fill="${color}"/>`;
        body += `<text x="${x(i) + 6}" y="${y(v.median) - 6}" fill="${color}" font-size="11">${Math.round(v.median).toLocaleString('en')}</text>`;
      }
      legend.push(legendLine(color, hog, `${sideName(side)}${hog ? ' + CPU hog' : ''}`));
    }
  }
  return frame(title, yLabel, yMax, xs, body, legend);
}

/** Stacked CPU µs per unit by process kind, one bar per (scenario, side), without the hog. */
function cpuChart(replicas: number): string {
  const rows = summary.filter((s) => s.replicas === replicas && !s.hog);
  const xs = [...new Set(rows.map((s) => s.scenario))];
  const kinds = Object.keys(KIND_COLORS) as (keyof typeof KIND_COLORS)[];
  const total = (s: SummaryRow): number => kinds.reduce((a, k) => a + s.metrics[`cpu.${k}`].median, 0);
  const yMax = niceMax(Math.max(...rows.map(total)));
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const slot = pw / xs.length;
  let body = '';
  xs.forEach((sc, i) => {
    ['ours', 'naive'].forEach((side, j) => {
      const s = rows.find((r) => r.side === side && r.scenario === sc);
      if (!s) return;
      const bx = M.l + slot * i + slot * 0.15 + j * slot * 0.36;
      let acc = 0;
      for (const k of kinds) {
        const v = s.metrics[`cpu.${k}`].median;
        const y0 = M.t + ph * (1 - acc / yMax);
        const y1 = M.t + ph * (1 - (acc + v) / yMax);
        body += `<rect x="${bx}" y="${y1}" width="${slot * 0.32}" height="${Math.max(0, y0 - y1)}" fill="${KIND_COLORS[k]}"/>`;
        acc += v;
      }
      body += `<text x="${bx + slot * 0.16}" y="${M.t + ph * (1 - acc / yMax) - 4}" text-anchor="middle" font-size="10">${side === 'ours' ? 'AB' : 'naive'} ${Math.round(acc)}</text>`;
    });
  });
  const legend = kinds.map(
    (k) =>
      `<rect width="14" height="10" y="-8" fill="${KIND_COLORS[k]}"/><text x="20" y="1">${k === 'worker' ? 'bridge / naive worker' : k}</text>`,
  );
  legend.push('<text y="1">AB = agent-bridge</text>');
  return frame('CPU µs per delivered unit, by process kind (median)', 'µs per unit', yMax, xs, body, legend);
}

/** Max throughput by replica count, both sides. */
function replicaChart(): string | null {
  const rows = summary.filter((s) => s.scenario === 'max' && !s.hog);
  const reps = [...new Set(rows.map((s) => s.replicas))].sort();
  if (reps.length < 2) return null;
  const yMax = niceMax(Math.max(...rows.map((s) => s.metrics.deliveredPerSec.max)));
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const slot = pw / reps.length;
  let body = '';
  reps.forEach((r, i) => {
    ['ours', 'naive'].forEach((side, j) => {
      const s = rows.find((x) => x.side === side && x.replicas === r);
      if (!s) return;
      const v = s.metrics.deliveredPerSec;
      const bx = M.l + slot * i + slot * 0.15 + j * slot * 0.36;
      const y = M.t + ph * (1 - v.median / yMax);
      body += `<rect x="${bx}" y="${y}" width="${slot * 0.32}" height="${M.t + ph - y}" fill="${COLORS[side]!}"/>`;
      body += `<line x1="${bx + slot * 0.16}" x2="${bx + slot * 0.16}" y1="${M.t + ph * (1 - v.min / yMax)}" y2="${M.t + ph * (1 - v.max / yMax)}" stroke="black"/>`;
      body += `<text x="${bx + slot * 0.16}" y="${y - 4}" text-anchor="middle" font-size="10">${Math.round(v.median).toLocaleString('en')}</text>`;
    });
  });
  const svg = frame(
    'Maximum delivered units/s by replica count (bridge replicas / naive workers)',
    'units/s',
    yMax,
    reps.map((r) => `${r} replica${r > 1 ? 's' : ''}`),
    body,
    ['ours', 'naive'].map(
      (s) => `<rect width="14" height="10" y="-8" fill="${COLORS[s]!}"/><text x="20" y="1">${sideName(s)}</text>`,
    ),
  );
  return svg.replace(/target rate \(units\/s;[^<]*/, 'replicas');
}

/** The summary as a Markdown table (medians; min–max of throughput and p99), printed for BENCHMARKS.md. */
function markdownTable(): string {
  const f = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en') : '–');
  const r2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '–');
  const lines = [
    '| replicas | hog | scenario | side | lost/dup/reordered | units/s (min–max) | p50 ms | p99 ms (min–max) | producer lateness p99 ms | CPU µs/unit producer · bridge/worker · gateway · redis = total | Redis cmds/unit | wire events/unit | ours ÷ naive: units/s · p99 · CPU |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of summary) {
    const m = s.metrics;
    const ratio = s.ratioToNaive
      ? `${r2(s.ratioToNaive.deliveredPerSec.median)} · ${r2(s.ratioToNaive.p99Ms.median)} · ${r2(s.ratioToNaive['cpu.total'].median)}`
      : '';
    lines.push(
      `| ${s.replicas} | ${s.hog ? 'yes' : 'no'} | ${s.scenario} | ${sideName(s.side)} | ${s.lost}/${s.duplicated}/${s.outOfOrder} | ` +
        `${f(m.deliveredPerSec.median)} (${f(m.deliveredPerSec.min)}–${f(m.deliveredPerSec.max)}) | ${f(m.p50Ms.median)} | ` +
        `${f(m.p99Ms.median)} (${f(m.p99Ms.min)}–${f(m.p99Ms.max)}) | ${f(m.latenessP99Ms.median)} | ` +
        `${f(m['cpu.producer'].median)} · ${f(m['cpu.worker'].median)} · ${f(m['cpu.gateway'].median)} · ${f(m['cpu.redis'].median)} = ${f(m['cpu.total'].median)} | ` +
        `${r2(m.redisCmdsPerUnit.median)} | ${r2(m.wireEventsPerUnit.median)} | ${ratio} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  console.log(markdownTable());
  if (values['tables-only']) return;
  mkdirSync(outDir, { recursive: true });
  const replicas = Math.min(...summary.map((s) => s.replicas));
  const charts: Record<string, string | null> = {
    'throughput.png': lineChart(
      'Delivered units/s vs target rate (median, min–max)',
      'units/s',
      (s) => s.metrics.deliveredPerSec,
      replicas,
    ),
    'p99.png': lineChart(
      'p99 emit → app latency vs target rate (median, min–max)',
      'ms',
      (s) => s.metrics.p99Ms,
      replicas,
    ),
    'cpu.png': cpuChart(replicas),
    'replicas.png': replicaChart(),
  };
  const browser = await chromium.launch({
    executablePath: values.chromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: W, height: H } });
    for (const [name, svg] of Object.entries(charts)) {
      if (!svg) continue;
      writeFileSync(join(outDir, name.replace('.png', '.svg')), svg);
      await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
      await page.screenshot({ path: join(outDir, name), clip: { x: 0, y: 0, width: W, height: H } });
      console.log(`wrote ${join(outDir, name)}`);
    }
  } finally {
    await browser.close();
  }
  console.log(`from ${input} (${String(meta['date'])})`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
