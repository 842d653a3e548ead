import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { type RedisServer, destroyAllRedis, freePort, killAllServices, startRedis } from '@agent-bridge/testing';
import { Bridge } from './harness';

jest.setTimeout(180_000);

const TOKEN = 'admin-token-for-tests-0123456789abcdef';

let redis: RedisServer;
let bridge: Bridge;
let adminPort: number;

/** A non-loopback IPv4 address of this machine (the admin listener must not answer on it by default). */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { method: 'POST', signal: AbortSignal.timeout(5_000) });
    return false;
  } catch (err) {
    return /ECONNREFUSED/.test(String((err as { cause?: unknown }).cause ?? err));
  }
}

beforeAll(async () => {
  redis = await startRedis();
  adminPort = await freePort();
  const id = randomUUID();
  bridge = await Bridge.start('admin-1', {
    REDIS_URL: redis.url,
    AB_KEY_PREFIX: `t-${id}`,
    AB_EVENTS_QUEUE: `ev-${id}`,
    AB_BRIDGE_ADMIN_TOKEN: TOKEN,
    AB_BRIDGE_ADMIN_PORT: String(adminPort),
  });
});
afterAll(async () => {
  await killAllServices();
  await destroyAllRedis();
});

describe('bridge admin endpoints: authenticated, on their own loopback listener', () => {
  const admin = (path: string, auth?: string): Promise<Response> =>
    fetch(`http://127.0.0.1:${adminPort}${path}`, {
      method: 'POST',
      headers: auth === undefined ? {} : { authorization: auth },
    });

  it('answers 401 without a token, with a wrong one, or with another scheme; the right token enqueues a recovery', async () => {
    for (const auth of [undefined, `Bearer ${TOKEN}x`, 'Bearer wrong', `Basic ${TOKEN}`, TOKEN]) {
      const res = await admin('/integration/recover', auth);
      expect({ auth, status: res.status }).toEqual({ auth, status: 401 });
    }
    const res = await admin('/integration/recover', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      jobId: expect.any(String) as string,
      incidentId: expect.any(String) as string,
    });
  });

  it('an unknown admin path without a token is 401 too (nothing is revealed before authentication)', async () => {
    expect((await admin('/integration/nothing-here')).status).toBe(401);
  });

  it('the public port has no mutating route (404) and still serves health, status and readiness', async () => {
    for (const path of ['/integration/recover', '/integration/ensure']) {
      const res = await fetch(`${bridge.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    expect((await fetch(`${bridge.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${bridge.url}/status`)).status).toBe(200);
  });

  it('binds the admin listener to loopback by default (not on the machine’s other addresses)', async () => {
    expect(bridge.proc.logs).toContain(`bridge admin endpoints on http://127.0.0.1:${adminPort}`);
    const external = externalAddress();
    if (external !== undefined) {
      // The public port answers on that address, the admin port does not.
      expect((await fetch(`http://${external}:${bridge.port}/healthz`)).status).toBe(200);
      expect(await refused(`http://${external}:${adminPort}/integration/recover`)).toBe(true);
    }
  });

  it('without AB_BRIDGE_ADMIN_TOKEN there is no admin listener at all', async () => {
    const port = await freePort();
    const id = randomUUID();
    const plain = await Bridge.start('admin-2', {
      REDIS_URL: redis.url,
      AB_KEY_PREFIX: `t-${id}`,
      AB_EVENTS_QUEUE: `ev-${id}`,
      AB_BRIDGE_ADMIN_PORT: String(port),
    });
    expect(plain.proc.logs).toContain('admin listener off');
    expect(await refused(`http://127.0.0.1:${port}/integration/recover`)).toBe(true);
  });
});
