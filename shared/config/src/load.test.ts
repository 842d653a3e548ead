import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@agent-bridge/protocol';
import { explainConfig, loadConfig, redactConfig } from './index';

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills every key with its default when nothing is set', () => {
    const c = loadConfig({ env: {} });
    expect(c.redis.url).toBe('redis://127.0.0.1:6379');
    expect(c.keyPrefix).toBe('ab');
    expect(c.leader.leaseTtlMs).toBe(3000);
    expect(c.events.workerConcurrency).toBe(64);
    expect(c.redis.lockUrls).toEqual([]);
    expect(c.ops.readOnly).toBe(true);
    expect(c.instanceId).toMatch(/-\d+$/);
    expect(c.port).toBeUndefined();
  });

  it('takes overrides from the environment with standard names and coerces their types', () => {
    const c = loadConfig({
      env: {
        REDIS_URL: 'rediss://user:pw@redis.example:6380/2',
        PORT: '9000',
        AB_LEADER_LEASE_TTL_MS: '10000',
        AB_OPS_READ_ONLY: 'false',
        REDIS_LOCK_URLS: 'redis://a:1, redis://b:2 ,redis://c:3',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      },
    });
    expect(c.redis.url).toBe('rediss://user:pw@redis.example:6380/2');
    expect(c.port).toBe(9000);
    expect(c.leader.leaseTtlMs).toBe(10000);
    expect(c.ops.readOnly).toBe(false);
    expect(c.redis.lockUrls).toEqual(['redis://a:1', 'redis://b:2', 'redis://c:3']);
    expect(c.telemetry.exporterEndpoint).toBe('http://collector:4318');
  });

  it('reads a YAML file, and the environment wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-config-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'keyPrefix: fromfile\nleader:\n  leaseTtlMs: 7000\nevents:\n  workerConcurrency: 3\n');
    const c = loadConfig({ env: { AB_CONFIG_FILE: file, AB_WORKER_CONCURRENCY: '9' } });
    expect(c.keyPrefix).toBe('fromfile');
    expect(c.leader.leaseTtlMs).toBe(7000);
    expect(c.events.workerConcurrency).toBe(9);
  });

  it('rejects an unknown key in the file by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ leader: { leaseTTL: 1 } }));
    const err = configErrorOf(() => loadConfig({ env: {}, file }));
    expect(err.problems).toEqual([{ key: 'leader.leaseTTL', message: 'unknown key in config file' }]);
  });

  it('rejects a wrong value with the key name and what was expected', () => {
    const err = configErrorOf(() => loadConfig({ env: { AB_WORKER_CONCURRENCY: 'lots', REDIS_URL: 'http://x' } }));
    expect(err.code).toBe('CONFIG');
    const keys = err.problems.map((p) => p.key).sort();
    expect(keys).toEqual(['AB_WORKER_CONCURRENCY', 'REDIS_URL']);
    expect(err.message).toContain('AB_WORKER_CONCURRENCY: got "lots", expected');
    expect(err.message).toContain('redis:// or rediss://');
  });

  it('rejects inconsistent values across keys', () => {
    const err = configErrorOf(() =>
      loadConfig({ env: { AB_LEADER_LEASE_TTL_MS: '1000', AB_LEADER_EXTEND_BEFORE_MS: '1000' } }),
    );
    expect(err.problems[0]?.key).toBe('AB_LEADER_EXTEND_BEFORE_MS');
    expect(() => loadConfig({ env: { REDIS_MODE: 'cluster' } })).toThrow(/REDIS_CLUSTER_NODES/);
  });

  it('never shows a secret value in an error message', () => {
    const err = configErrorOf(() => loadConfig({ env: { AB_JWT_SECRET: 'short' } }));
    expect(err.message).toContain('AB_JWT_SECRET: got (hidden)');
    expect(err.message).not.toContain('short');
  });
});

describe('redactConfig', () => {
  it('hides secrets and URL passwords, and leaves the original untouched', () => {
    const c = loadConfig({
      env: {
        REDIS_URL: 'redis://app:s3cret-pass@db:6379',
        REDIS_LOCK_URLS: 'redis://lock:lockpass@l1:6379,redis://l2:6379',
        AB_JWT_SECRET: 'a-very-secret-signing-key',
        AB_OPS_PASSWORD: 'ops-password-123',
      },
    });
    const r = redactConfig(c);
    const printed = JSON.stringify(r);
    expect(printed).not.toContain('s3cret-pass');
    expect(printed).not.toContain('lockpass');
    expect(printed).not.toContain('a-very-secret-signing-key');
    expect(printed).not.toContain('ops-password-123');
    expect(r.redis.url).toBe('redis://app:***@db:6379');
    expect(r.redis.lockUrls).toEqual(['redis://lock:***@l1:6379', 'redis://l2:6379']);
    expect(r.auth.jwtSecret).toBe('***');
    expect(c.auth.jwtSecret).toBe('a-very-secret-signing-key');
  });
});

describe('explainConfig', () => {
  it('lists every key with env name, default and description, secrets redacted', () => {
    const rows = explainConfig();
    expect(rows.length).toBeGreaterThan(40);
    for (const row of rows) {
      expect(row.description.length).toBeGreaterThan(10);
      expect(row.env).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
    expect(new Set(rows.map((r) => r.env)).size).toBe(rows.length);
    const jwt = rows.find((r) => r.env === 'AB_JWT_SECRET');
    expect(jwt).toMatchObject({ key: 'auth.jwtSecret', default: '***', secret: true });
    expect(rows.find((r) => r.env === 'REDIS_URL')?.default).toBe('redis://127.0.0.1:6379');
  });
});
