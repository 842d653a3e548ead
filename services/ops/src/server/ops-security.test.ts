import { request as httpRequest } from 'node:http';
import { silentLogger } from '@agent-bridge/telemetry';
import { type RedisServer, startRedis } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { createOpsServer } from './ops-server';
import { OPS_PASSWORD, type OpsFixture, basicAuth, startOpsFixture } from './test-fixture';

let redis: RedisServer | undefined;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.destroy();
});

/** A raw HTTP request: the path goes out byte for byte (fetch would normalise `.` segments). */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const fromIp = (ip: string, password: string): Record<string, string> => ({
  ...basicAuth(undefined, password),
  'x-forwarded-for': ip,
});

describe('ops login throttling (AB_LIMIT_OPS_LOGIN_*)', () => {
  let f: OpsFixture;
  beforeAll(async () => {
    f = await startOpsFixture(redis!, {
      AB_LIMIT_OPS_LOGIN_FAILURES: 10,
      AB_LIMIT_OPS_LOGIN_WINDOW_MS: 60_000,
      AB_TRUST_PROXY_HOPS: 1,
    });
  });
  afterAll(() => f.close());

  test('400 concurrent wrong guesses from one IP: 10 are looked at (401), the rest get 429 with Retry-After', async () => {
    const guesses = await Promise.all(
      Array.from({ length: 400 }, (_, i) => raw(f.base, 'GET', '/api/status', fromIp('203.0.113.7', `guess-${i}`))),
    );
    const statuses = guesses.map((g) => g.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(390);
    for (const g of guesses.filter((x) => x.status === 429)) {
      const retryAfter = Number(g.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
  });

  test('the blocked IP is refused even with the right password or none; another IP logs in', async () => {
    expect((await raw(f.base, 'GET', '/api/status', fromIp('203.0.113.7', OPS_PASSWORD))).status).toBe(429);
    expect((await raw(f.base, 'GET', '/status', { 'x-forwarded-for': '203.0.113.7' })).status).toBe(429);
    expect((await raw(f.base, 'GET', '/api/status', fromIp('203.0.113.8', OPS_PASSWORD))).status).toBe(200);
    // Probes stay open for the platform.
    expect((await raw(f.base, 'GET', '/healthz', { 'x-forwarded-for': '203.0.113.7' })).status).toBe(200);
  });

  test('another ops replica on the same Redis refuses the blocked IP too (the count is shared)', async () => {
    const other = createOpsServer(f.config, silentLogger(), { connection: f.conn, host: '127.0.0.1' });
    await other.start();
    try {
      const base = `http://127.0.0.1:${other.port}`;
      expect((await raw(base, 'GET', '/api/status', fromIp('203.0.113.7', OPS_PASSWORD))).status).toBe(429);
      expect((await raw(base, 'GET', '/api/status', fromIp('203.0.113.9', OPS_PASSWORD))).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  test('successful logins cost nothing: 50 in a row after 9 failures still pass, the 10th failure blocks', async () => {
    const ip = '198.51.100.20';
    for (let i = 0; i < 9; i++) {
      expect((await raw(f.base, 'GET', '/api/health', fromIp(ip, 'wrong'))).status).toBe(401);
    }
    for (let i = 0; i < 50; i++) {
      expect((await raw(f.base, 'GET', '/api/health', fromIp(ip, OPS_PASSWORD))).status).toBe(200);
    }
    expect((await raw(f.base, 'GET', '/api/health', fromIp(ip, 'wrong'))).status).toBe(401);
    expect((await raw(f.base, 'GET', '/api/health', fromIp(ip, OPS_PASSWORD))).status).toBe(429);
  });
});

describe('ops security headers', () => {
  let f: OpsFixture;
  beforeAll(async () => {
    f = await startOpsFixture(redis!);
  });
  afterAll(() => f.close());

  const csp = (h: Record<string, string | string[] | undefined>): Map<string, string> =>
    new Map(
      String(h['content-security-policy'] ?? '')
        .split(';')
        .map((d) => d.trim())
        .filter(Boolean)
        .map((d) => [d.split(' ')[0] ?? '', d.slice(d.indexOf(' ') + 1)]),
    );

  test('the status page, the API and a 401 carry CSP (no framing, own scripts only), X-Frame-Options and nosniff', async () => {
    for (const [path, headers] of [
      ['/status', basicAuth()],
      ['/api/status', basicAuth()],
      ['/status', {}],
    ] as const) {
      const res = await raw(f.base, 'GET', path, headers);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const policy = csp(res.headers);
      expect({ path, frame: policy.get('frame-ancestors'), script: policy.get('script-src') }).toEqual({
        path,
        frame: "'none'",
        script: "'self'",
      });
      expect(policy.get('style-src')).toBe("'self'");
      expect(policy.get('object-src')).toBe("'none'");
    }
  });

  test("Bull Board's pages allow inline styles but still only this origin's scripts", async () => {
    for (const path of ['/board/', '/board/api/queues']) {
      const res = await raw(f.base, 'GET', path, basicAuth());
      expect(res.status).toBe(200);
      const policy = csp(res.headers);
      expect(policy.get('style-src')).toBe("'self' 'unsafe-inline'");
      expect(policy.get('script-src')).toBe("'self'");
      expect(policy.get('frame-ancestors')).toBe("'none'");
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });
});

describe('Bull Board read-only guard on the routed path', () => {
  let f: OpsFixture;
  beforeAll(async () => {
    f = await startOpsFixture(redis!);
  });
  afterAll(() => f.close());

  // Bull Board's adapters refuse most writes themselves in read-only mode; the guard is the line that does
  // not depend on each handler remembering to check (and on a future route). So every variant must either
  // not be routed at all (404) or be answered by the guard itself (405 READ_ONLY) — never reach a handler.
  test('percent-encoded, doubled-slash, dotted and upper-case variants of write calls are stopped by the guard or not routed', async () => {
    const q = f.config.queues.events;
    const queue = new Queue(q, { connection: f.conn, prefix: f.keys.bullPrefix });
    try {
      await queue.add('a', {});
      const outcomes: { method: string; path: string; outcome: string }[] = [];
      for (const tail of [
        'pause',
        'empty',
        'retry/waiting',
        'clean/waiting',
        'promote',
        'add',
        'job-1/remove-unprocessed-children',
      ]) {
        for (const path of [
          `/board/api/queues/${q}/${tail}`,
          `/%62oard/api/queues/${q}/${tail}`,
          `/%62%6F%61%72%64/api/queues/${q}/${tail}`,
          `/%62%6f%61%72%64/%61pi/queues/${q}/${tail}`,
          `/board/%61pi/queues/${encodeURIComponent(q)}/${tail}`,
          `//board/api/queues/${q}/${tail}`,
          `/board//api/queues/${q}/${tail}`,
          `/board/api/queues/${q}/${tail}/`,
          `/board/api/queues/${q}/${tail}.`,
          `/board/./api/queues/${q}/${tail}`,
          `/board/api/queues/../queues/${q}/${tail}`,
          `/BOARD/api/queues/${q}/${tail}`,
          `/Board/api/queues/${q}/${tail}`,
        ]) {
          for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
            const res = await raw(f.base, method, path, basicAuth());
            const guarded = res.status === 405 && res.body.includes('"READ_ONLY"');
            const outcome = guarded ? 'guard' : res.status === 404 ? 'not routed' : `${res.status} ${res.body}`;
            outcomes.push({ method, path, outcome });
          }
        }
      }
      expect(outcomes.filter((o) => o.outcome !== 'guard' && o.outcome !== 'not routed')).toEqual([]);
      // The encoded spellings of real routes are routed (to the guard), so the check above is not vacuous.
      expect(outcomes.find((o) => o.method === 'PUT' && o.path === `/%62oard/api/queues/${q}/pause`)?.outcome).toBe(
        'guard',
      );
      expect(await queue.isPaused()).toBe(false);
      expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    } finally {
      await queue.close();
    }
  });
});
