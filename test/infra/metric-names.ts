import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * Prometheus names of every metric agent-bridge defines (shared/telemetry/src/metrics.ts): dots become
 * underscores; counters get `_total`, histograms `_bucket`/`_sum`/`_count` (OpenTelemetry's exporter).
 */
export function knownMetrics(): Set<string> {
  const source = readFileSync(join(ROOT, 'shared/telemetry/src/metrics.ts'), 'utf8');
  const names = new Set<string>(['up']);
  for (const m of source.matchAll(/create(Counter|Gauge|Histogram|UpDownCounter)\('([a-z0-9_.]+)'/g)) {
    const base = m[2]!.replace(/\./g, '_');
    if (m[1] === 'Counter') names.add(`${base}_total`);
    else if (m[1] === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(base + s);
    else names.add(base);
  }
  return names;
}

/** The metric names a PromQL expression selects. */
export function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(agent_bridge_[a-z0-9_]+|up)\b(?=\s*[{[)])/g)].map((m) => m[1]!);
}
