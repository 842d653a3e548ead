import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { knownMetrics, metricsIn } from './metric-names';

// infra/prometheus (alert rules, their promtool unit tests, the scrape config) and infra/grafana (the
// dashboard and its provisioning), as docker-compose.yml wires them. promtool comes from Debian's
// `prometheus` package (.ci/run installs it).

const ROOT = join(__dirname, '..', '..');
const PROM = join(ROOT, 'infra/prometheus');
const GRAFANA = join(ROOT, 'infra/grafana');

function promtool(args: string[], cwd: string): string {
  try {
    return execFileSync('promtool', args, { cwd, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

interface Panel {
  id: number;
  title: string;
  datasource: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { expr: string; refId: string; datasource: { uid: string } }[];
}

describe('Prometheus alert rules and Grafana dashboard (infra/)', () => {
  const known = knownMetrics();

  it('promtool: the rules are valid and their unit tests pass', () => {
    expect(promtool(['check', 'rules', 'alerts.yml'], PROM)).toContain('SUCCESS');
    expect(promtool(['test', 'rules', 'alerts.test.yml'], PROM)).toContain('SUCCESS');
  });

  it('promtool: the scrape config is valid and loads the rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-prom-'));
    try {
      // Compose mounts alerts.yml at /etc/prometheus/alerts.yml; point the copy at the local file.
      const config = readFileSync(join(PROM, 'prometheus.yml'), 'utf8').replace(
        '/etc/prometheus/alerts.yml',
        'alerts.yml',
      );
      writeFileSync(join(dir, 'prometheus.yml'), config);
      copyFileSync(join(PROM, 'alerts.yml'), join(dir, 'alerts.yml'));
      expect(promtool(['check', 'config', 'prometheus.yml'], dir)).toMatch(/SUCCESS: \d+ rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every alert covers a metric agent-bridge exports, and is tested', () => {
    const rules = (
      parse(readFileSync(join(PROM, 'alerts.yml'), 'utf8')) as {
        groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[];
      }
    ).groups.flatMap((g) => g.rules);
    const tests = readFileSync(join(PROM, 'alerts.test.yml'), 'utf8');
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const rule of rules) {
      expect(metricsIn(rule.expr).length).toBeGreaterThan(0);
      for (const metric of metricsIn(rule.expr))
        expect([rule.alert, known.has(metric) ? 'known' : metric]).toEqual([rule.alert, 'known']);
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      // Fires somewhere in the unit tests (an exp_alerts entry with labels under this alert's name).
      expect(tests).toMatch(new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
    }
  });

  it('the Grafana dashboard is well-formed, on the provisioned data source, over exported metrics', () => {
    const dashboard = JSON.parse(readFileSync(join(GRAFANA, 'dashboards/agent-bridge.json'), 'utf8')) as {
      uid: string;
      title: string;
      schemaVersion: number;
      time: { from: string };
      panels: Panel[];
    };
    const datasources = parse(readFileSync(join(GRAFANA, 'provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: { uid: string; type: string; url: string }[];
    };
    const uid = datasources.datasources[0]!.uid;
    expect(datasources.datasources[0]!.type).toBe('prometheus');
    expect(dashboard).toMatchObject({ uid: 'agent-bridge', time: { from: 'now-15m' } });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const cells = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid).toBe(uid);
      expect(panel.targets.length).toBeGreaterThan(0);
      const { x, y, w, h } = panel.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`) ? `${panel.title} overlaps` : 'ok').toBe('ok');
          cells.add(`${i},${j}`);
        }
      }
      for (const target of panel.targets) {
        expect(target.datasource.uid).toBe(uid);
        expect(metricsIn(target.expr).length).toBeGreaterThan(0);
        for (const metric of metricsIn(target.expr)) expect(known.has(metric) ? 'known' : metric).toBe('known');
      }
    }
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const topic of [
      'Events per second',
      'latency',
      'Queue depth',
      'Queue lag',
      'gateway',
      'Dead letters',
      'Leadership',
    ]) {
      expect(titles).toContain(topic);
    }
  });

  it('docker-compose.yml runs Prometheus with these rules and Grafana with this dashboard', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { volumes?: string[]; environment?: Record<string, string> }>;
    };
    const mounts = (name: string): string[] => (compose.services[name]?.volumes ?? []).map((v) => v.split(':')[0]!);
    expect(mounts('prometheus')).toEqual(['./infra/prometheus/prometheus.yml', './infra/prometheus/alerts.yml']);
    expect(mounts('grafana')).toEqual(['./infra/grafana/provisioning', './infra/grafana/dashboards']);
    for (const m of [...mounts('prometheus'), ...mounts('grafana')]) expect(existsSync(join(ROOT, m))).toBe(true);
    // The services Prometheus scrapes serve /metrics themselves.
    for (const name of ['bridge-1', 'bridge-2', 'gateway-1', 'gateway-2', 'ops']) {
      expect([name, compose.services[name]?.environment?.OTEL_METRICS_EXPORTER]).toEqual([name, 'prometheus']);
    }
  });
});
