import { ConfigError } from '@agent-bridge/protocol';
import { type ServiceName, loadConfig } from './index';

function problemsOf(env: Record<string, string>, service?: ServiceName): readonly { key: string; message: string }[] {
  try {
    loadConfig({ env, ...(service ? { service } : {}) });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const STRONG = {
  REDIS_URL: 'redis://gateway:0123456789abcdef0123456789abcdef@redis:6379',
  AB_JWT_SECRET: 'k'.repeat(40),
  AB_OPS_PASSWORD: 'a-long-ops-password',
};

describe('production mode (guarantee 7.1: production refuses default secrets and demo-only features)', () => {
  it('is on with NODE_ENV=production or AB_MODE=production, and AB_MODE wins', () => {
    expect(loadConfig({ env: {} }).mode).toBe('development');
    expect(loadConfig({ env: { ...STRONG, NODE_ENV: 'production' } }).mode).toBe('production');
    expect(loadConfig({ env: { ...STRONG, AB_MODE: 'production' } }).mode).toBe('production');
    expect(loadConfig({ env: { NODE_ENV: 'production', AB_MODE: 'development' } }).mode).toBe('development');
  });

  it('the demo sign-in is off by default, in development too', () => {
    expect(loadConfig({ env: {} }).gateway.chatPage).toBe(false);
  });

  it('with nothing set, every service refuses and names the keys it needs', () => {
    const keys = (service: ServiceName): string[] =>
      problemsOf({ NODE_ENV: 'production' }, service)
        .map((p) => p.key)
        .sort();
    expect(keys('gateway')).toEqual(['AB_JWT_SECRET', 'REDIS_URL']);
    expect(keys('ops')).toEqual(['AB_OPS_PASSWORD', 'REDIS_URL']);
    expect(keys('bridge')).toEqual(['REDIS_URL']);
    expect(keys('agent')).toEqual(['REDIS_URL']);
  });

  it('never falls back to the development defaults of secrets', () => {
    const c = loadConfig({ env: { NODE_ENV: 'production', AB_MODE: 'production' } });
    expect(c.auth.jwtSecret).toBeUndefined();
    expect(c.ops.password).toBeUndefined();
  });

  it('refuses published defaults, placeholders, short secrets and the demo sign-in, naming each key', () => {
    const problems = problemsOf(
      {
        NODE_ENV: 'production',
        REDIS_URL: 'redis://gateway:gateway-dev-password@redis:6379',
        AB_JWT_SECRET: 'dev-only-insecure-jwt-secret',
        AB_OPS_PASSWORD: 'change-me-ops',
        AB_GATEWAY_CHAT_PAGE: 'true',
      },
      'gateway',
    );
    expect(problems.map((p) => p.key).sort()).toEqual([
      'AB_GATEWAY_CHAT_PAGE',
      'AB_JWT_SECRET',
      'AB_OPS_PASSWORD',
      'REDIS_URL',
    ]);
    expect(problems.find((p) => p.key === 'AB_JWT_SECRET')?.message).toMatch(/published default/);
    const short = problemsOf({ ...STRONG, NODE_ENV: 'production', AB_JWT_SECRET: 'sixteen-chars-ok!' }, 'gateway');
    expect(short).toEqual([
      { key: 'AB_JWT_SECRET', message: expect.stringMatching(/at least 32 characters/) as string },
    ]);
    const placeholder = problemsOf(
      { ...STRONG, NODE_ENV: 'production', AB_JWT_SECRET: 'CHANGE-ME-to-at-least-16-characters-long' },
      'gateway',
    );
    expect(placeholder.map((p) => p.key)).toEqual(['AB_JWT_SECRET']);
  });

  it('refuses the gateway catch-up switched off (AB_GATEWAY_RESYNC=false, for demonstrating the fault only) in a production gateway', () => {
    const off = { ...STRONG, AB_GATEWAY_RESYNC: 'false' };
    expect(problemsOf({ ...off, NODE_ENV: 'production' }, 'gateway')).toEqual([
      { key: 'AB_GATEWAY_RESYNC', message: expect.stringMatching(/must be on in production/) as string },
    ]);
    expect(problemsOf({ ...STRONG, NODE_ENV: 'production' }, 'gateway')).toEqual([]);
    expect(problemsOf(off, 'gateway')).toEqual([]);
  });

  it('refuses a bridge admin token under 32 characters; development accepts 16', () => {
    const bridgeEnv = { ...STRONG, REDIS_URL: 'redis://bridge:0123456789abcdef0123456789abcdef@redis:6379' };
    const short = problemsOf({ ...bridgeEnv, NODE_ENV: 'production', AB_BRIDGE_ADMIN_TOKEN: 'a'.repeat(31) }, 'bridge');
    expect(short).toEqual([
      { key: 'AB_BRIDGE_ADMIN_TOKEN', message: expect.stringMatching(/at least 32 characters/) as string },
    ]);
    expect(
      problemsOf({ ...bridgeEnv, NODE_ENV: 'production', AB_BRIDGE_ADMIN_TOKEN: 'a'.repeat(32) }, 'bridge'),
    ).toEqual([]);
    expect(loadConfig({ env: { AB_BRIDGE_ADMIN_TOKEN: 'a'.repeat(16) } }).bridge).toMatchObject({
      adminToken: 'a'.repeat(16),
      adminHost: '127.0.0.1',
    });
  });

  it('refuses a lock master URL with a published or placeholder password (bridge)', () => {
    const lock = (pw: string): string =>
      ['redis://:0123456789abcdef0123456789abcdef@lock-a:6379', `redis://:${pw}@lock-b:6379`].join(',');
    const env = (pw: string): Record<string, string> => ({
      ...STRONG,
      NODE_ENV: 'production',
      REDIS_LOCK_URLS: lock(pw),
    });
    expect(problemsOf(env('CHANGE-ME-lock'), 'bridge')).toEqual([
      { key: 'REDIS_LOCK_URLS', message: 'a password in it is a published default or placeholder' },
    ]);
    expect(problemsOf(env('bridge-dev-password'), 'bridge').map((p) => p.key)).toEqual(['REDIS_LOCK_URLS']);
    expect(problemsOf(env('another-strong-lock-password-0123'), 'bridge')).toEqual([]);
  });

  it('the message names the keys and never shows a secret', () => {
    let message = '';
    try {
      loadConfig({
        env: { NODE_ENV: 'production', AB_JWT_SECRET: 'dev-only-insecure-jwt-secret' },
        service: 'gateway',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/refusing to start in production mode/);
    expect(message).toMatch(/AB_JWT_SECRET: is a published default/);
    expect(message).toMatch(/REDIS_URL: production needs/);
    expect(message).not.toContain('dev-only-insecure-jwt-secret');
  });

  it('starts with real secrets', () => {
    for (const service of ['gateway', 'ops', 'bridge', 'agent'] as const) {
      expect(problemsOf({ ...STRONG, NODE_ENV: 'production' }, service)).toEqual([]);
    }
  });
});
