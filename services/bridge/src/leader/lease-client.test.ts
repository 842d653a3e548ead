import { randomUUID } from 'node:crypto';
import { loadConfig } from '@agent-bridge/config';
import { type RedisConnection, closeRedis, createLockClients, waitUntilReady } from '@agent-bridge/redis';
import { type RedisServer, destroyAllRedis, sleep, startRedisMasters } from '@agent-bridge/testing';
import { RedlockLeaseClient } from './lease-client';

jest.setTimeout(60_000);

let masters: RedisServer[];
let clients: RedisConnection[];

beforeAll(async () => {
  masters = await startRedisMasters(3);
  // The production connections (default 5 s command timeout), as a bridge opens them.
  const config = loadConfig({
    env: { REDIS_URL: masters[0]!.url, REDIS_LOCK_URLS: masters.map((m) => m.url).join(',') },
  });
  clients = createLockClients(config, 'lease-test');
  await Promise.all(clients.map((c) => waitUntilReady(c, 5_000)));
});
afterAll(async () => {
  await Promise.all(clients.map(closeRedis));
  await destroyAllRedis();
});

describe('RedlockLeaseClient over three independent masters', () => {
  it('two masters down → every acquisition says "unavailable, 2 unreachable" at once, never "held"', async () => {
    const lease = new RedlockLeaseClient({ clients });
    const resource = `lease-${randomUUID()}`;
    const held = await lease.acquire(resource, 3_000);
    expect(held.ok).toBe(true);
    const other = await lease.acquire(resource, 3_000);
    expect(other).toMatchObject({ ok: false, reason: 'held' });

    await masters[0]!.kill();
    await masters[1]!.kill();
    // While the dead masters' connections reconnect with growing back-off, attempt after attempt (a standby's
    // retry loop) must see them unreachable: a queued vote would outlast the wait and read as "held".
    for (let i = 0; i < 8; i++) {
      const started = Date.now();
      const r = await lease.acquire(`${resource}-${i}`, 3_000);
      const tookMs = Date.now() - started;
      expect(r).toMatchObject({ ok: false, reason: 'unavailable' });
      if (!r.ok) expect(r.detail).toMatch(/^[01]\/3 lock masters agreed \(quorum 2\);.* 2 unreachable/);
      expect(tookMs).toBeLessThan(1_500);
      await sleep(400);
    }
  });
});
