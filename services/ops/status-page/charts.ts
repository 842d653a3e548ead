// Live charts of the last minutes (uPlot, bundled with the page) and the timeline of leader changes and
// state transitions. Polls GET /api/series?since=<last bucket> (the server's `SeriesResponse`) and appends
// the new samples.
import uPlot from 'uplot';
import type { OpsSample, SampledLeader } from '../src/charts/sample';
import type { SeriesResponse } from '../src/server/ops-api-routes';
import { api, clock, el, messageOf, poll } from './dom';

const COLORS = ['#2d6cdf', '#c0392b', '#1f8a4c', '#c27c0e', '#8e44ad', '#16a085', '#7a8394', '#d35400'];

const view: {
  samples: OpsSample[];
  transitions: SeriesResponse['transitions'];
  windowMs: number;
  pollMs: number;
  /** Bucket of the newest sample held: the next poll asks for what came after. */
  lastAt: number;
  plots: Map<string, { u: uPlot; labels: string }>;
} = { samples: [], transitions: [], windowMs: 15 * 60_000, pollMs: 1000, lastAt: 0, plots: new Map() };

/** One line of a chart: its label and its value in a sample (null: no value, a gap). */
type SeriesDef = readonly [label: string, value: (s: OpsSample) => number | null];

/** Each chart (its element is `chart-<name>`) and its lines; connections has one line per gateway seen. */
const CHARTS: readonly (readonly [name: string, series: () => SeriesDef[]])[] = [
  ['deliveries', () => [['deliveries/s', (s) => s.deliveredPerSec]]],
  [
    'latency',
    () => [
      ['p50 ms', (s) => s.latencyP50Ms],
      ['p99 ms', (s) => s.latencyP99Ms],
    ],
  ],
  [
    'queue',
    () => [
      ['waiting', (s) => s.queue.waiting],
      ['active', (s) => s.queue.active],
      ['delayed', (s) => s.queue.delayed],
    ],
  ],
  ['lag', () => [['lag ms', (s) => s.queue.lagMs]]],
  [
    'connections',
    () =>
      [...new Set(view.samples.flatMap((s) => Object.keys(s.connections)))]
        .sort()
        .map((id): SeriesDef => [id, (s) => s.connections[id] ?? null]),
  ],
  ['dead-letters', () => [['dead letters', (s) => s.deadLetters]]],
];

/** Vertical markers on every chart: purple for leader changes, blue for state transitions. */
function markers(): { at: number; color: string }[] {
  const out = view.transitions.map((t) => ({ at: t.at, color: '#2d6cdf' }));
  for (const s of view.samples) if (s.leaderChange) out.push({ at: s.sampledAt, color: '#8e44ad' });
  return out;
}

const markerPlugin: uPlot.Plugin = {
  hooks: {
    draw: (u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.lineWidth = 2;
      ctx.setLineDash([4, 4]);
      for (const m of markers()) {
        const x = u.valToPos(m.at / 1000, 'x', true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
        ctx.strokeStyle = m.color;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    },
  },
};

/**
 * One row of wall-clock labels on the time axis, in the page's one time format (24-hour). uPlot's default
 * adds a second row with the date and the hour at every minute boundary, which collides with the next label
 * at 10 s ticks on a half-width chart.
 */
const timeAxis: uPlot.Axis = { space: 70, values: (_u, splits) => splits.map((v) => clock(v * 1000)) };

function renderChart(name: string, defs: SeriesDef[]): void {
  const box = el(`chart-${name}`);
  const xs = view.samples.map((s) => s.at / 1000);
  const ys = defs.map(([, value]) => view.samples.map(value));
  const data: uPlot.AlignedData = [xs, ...ys];
  const labels = defs.map(([label]) => label).join('|');
  const plot = view.plots.get(name);
  if (plot?.labels === labels) {
    plot.u.setData(data);
  } else {
    plot?.u.destroy();
    const opts: uPlot.Options = {
      width: Math.max(320, box.clientWidth || 420),
      height: 170,
      plugins: [markerPlugin],
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [timeAxis, {}],
      series: [
        // The legend's time (under the cursor) in the same 24-hour format; uPlot passes null off the plot.
        { value: (_u, v) => (Number.isFinite(v) ? clock(v * 1000) : '--') },
        ...defs.map(([label], i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false })),
      ],
    };
    view.plots.set(name, { u: new uPlot(opts, data, box), labels });
  }
  // For tests and screen readers: how many points the chart has and the largest value shown.
  const values = ys.flat().filter((v): v is number => v !== null);
  box.setAttribute('data-points', String(xs.length));
  box.setAttribute('data-values', String(values.length));
  box.setAttribute('data-max', values.length > 0 ? String(Math.max(...values)) : '');
}

function leaderText(l: SampledLeader): string {
  return l.id === null || l.id === '' ? 'none' : `${l.id} (epoch ${String(l.epoch)})`;
}

function renderTimeline(): void {
  const items: { at: number; kind: 'state' | 'leader'; text: string }[] = view.transitions.map((t) => ({
    at: t.at,
    kind: 'state',
    text:
      `state ${t.from} → ${t.to}${t.reason === '' ? '' : ` — ${t.reason}`}` +
      ` (leader ${leaderText({ id: t.leaderId, epoch: t.epoch })})`,
  }));
  for (const s of view.samples) {
    if (!s.leaderChange) continue;
    const { from, to } = s.leaderChange;
    items.push({ at: s.sampledAt, kind: 'leader', text: `leader ${leaderText(from)} → ${leaderText(to)}` });
  }
  items.sort((a, b) => b.at - a.at);
  const list = el('timeline');
  if (items.length === 0) {
    const li = document.createElement('li');
    li.textContent = 'no leader change or transition in the window';
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(
    ...items.map((it) => {
      const li = document.createElement('li');
      li.setAttribute('data-kind', it.kind);
      const time = document.createElement('time');
      time.textContent = clock(it.at);
      li.append(time, it.text);
      return li;
    }),
  );
}

function render(): void {
  for (const [name, series] of CHARTS) renderChart(name, series());
  renderTimeline();
  el('window').textContent = String(Math.round(view.windowMs / 60_000));
  el('charts-note').textContent =
    view.samples.length > 0 ? `· ${view.samples.length} samples` : '· waiting for the first samples';
}

function take(r: SeriesResponse): void {
  view.windowMs = r.windowMs;
  view.pollMs = Math.max(1000, Math.min(r.intervalMs, 5000));
  for (const s of r.samples) {
    if (s.at > view.lastAt) {
      view.samples.push(s);
      view.lastAt = s.at;
    }
  }
  const from = r.now - view.windowMs;
  view.samples = view.samples.filter((s) => s.at >= from);
  view.transitions = r.transitions;
}

/** Starts polling the chart series (every sampling interval, 1 to 5 s). */
export function startCharts(): void {
  poll(
    async () => {
      try {
        take(await api<SeriesResponse>(`/api/series?since=${view.lastAt}`));
        render();
      } catch (err) {
        el('charts-note').textContent = `· cannot read the chart series: ${messageOf(err)}`;
      }
    },
    () => view.pollMs,
  );
}
