// Production mode, as the real processes see it: each service's own main.ts with NODE_ENV=production.
// With the defaults every one exits non-zero and names the keys to fix; with real secrets each starts.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type RedisServer, ServiceProcess, destroyAllRedis, killAllServices, startRedis } from '@agent-bridge/testing';

const ROOT = join(__dirname, '..', '..');
const SERVICES = {
  bridge: { entry: 'services/bridge/src/main.ts', ready: /bridge ready/, needs: ['REDIS_URL'] },
  gateway: { entry: 'services/gateway/src/main.ts', ready: /gateway ready/, needs: ['AB_JWT_SECRET', 'REDIS_URL'] },
  ops: { entry: 'services/ops/src/main.ts', ready: /ops ready/, needs: ['AB_OPS_PASSWORD', 'REDIS_URL'] },
  'demo-agent': { entry: 'services/demo-agent/src/main.ts', ready: /demo-agent ready/, needs: ['REDIS_URL'] },
} as const;
type Name = keyof typeof SERVICES;
const NAMES = Object.keys(SERVICES) as Name[];

/** Only what the test means: no AB_* / REDIS_* of the developer's shell leaks into the children. */
function cleanEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const key of Object.keys(process.env)) {
    if (/^(AB_|REDIS_|OTEL_|NODE_ENV$|PORT$)/.test(key)) env[key] = undefined;
  }
  return { ...env, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', LOG_LEVEL: 'info', ...extra };
}

let redis: RedisServer;
const password = randomBytes(24).toString('hex');

beforeAll(async () => {
  redis = await startRedis();
  // A real ACL user with a real password (the committed users.acl holds published development passwords,
  // which production mode refuses).
  expect(await redis.cli('ACL', 'SETUSER', 'svc', 'on', `>${password}`, '~*', '&*', '+@all')).toBe('OK');
}, 30_000);
afterAll(async () => {
  await killAllServices();
  await destroyAllRedis();
});

describe('production mode in the real processes (guarantee 7.1)', () => {
  test.each(NAMES)(
    '%s exits non-zero with NODE_ENV=production and the defaults, naming the keys',
    async (name) => {
      const svc = ServiceProcess.start({
        name,
        entry: join(ROOT, SERVICES[name].entry),
        env: cleanEnv({ NODE_ENV: 'production' }),
      });
      const { code } = await svc.exited;
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      expect(svc.logs).toMatch(/refusing to start in production mode/);
      for (const key of SERVICES[name].needs) expect(svc.logs).toMatch(new RegExp(`${key}: `));
    },
    60_000,
  );

  test('the gateway refuses the demo sign-in and the published JWT secret, even with everything else set', async () => {
    const svc = ServiceProcess.start({
      name: 'gateway-demo',
      entry: join(ROOT, SERVICES.gateway.entry),
      env: cleanEnv({
        NODE_ENV: 'production',
        REDIS_URL: `redis://svc:${password}@127.0.0.1:${redis.port}`,
        AB_JWT_SECRET: 'dev-only-insecure-jwt-secret',
        AB_GATEWAY_CHAT_PAGE: 'true',
      }),
    });
    const { code } = await svc.exited;
    expect(code).toBe(1);
    expect(svc.logs).toMatch(/AB_GATEWAY_CHAT_PAGE: the demo sign-in/);
    expect(svc.logs).toMatch(/AB_JWT_SECRET: is a published default/);
    expect(svc.logs).not.toMatch(/gateway ready/);
  }, 60_000);

  test('with real secrets every service starts in production mode', async () => {
    const env = cleanEnv({
      NODE_ENV: 'production',
      REDIS_URL: `redis://svc:${password}@127.0.0.1:${redis.port}`,
      AB_JWT_SECRET: randomBytes(32).toString('hex'),
      AB_OPS_PASSWORD: randomBytes(12).toString('hex'),
      PORT: '0',
      AB_KEY_PREFIX: `prod-${randomBytes(4).toString('hex')}`,
    });
    const started = NAMES.map((name) =>
      ServiceProcess.start({ name, entry: join(ROOT, SERVICES[name].entry), env: { ...env, AB_INSTANCE_ID: name } }),
    );
    await Promise.all(started.map((svc, i) => svc.waitForOutput(SERVICES[NAMES[i]!].ready, 60_000)));
    for (const svc of started) expect(await svc.terminate()).toEqual({ code: 0, signal: null });
  }, 120_000);
});
