import { randomUUID } from 'node:crypto';
import { loadConfig } from '@agent-bridge/config';
import { keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { silentLogger } from '@agent-bridge/telemetry';
import { type RedisServer, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import type { LeaderContext } from './duty';
import { LeaderElector } from './leader-elector';
import { RedlockLeaseClient } from './lease-client';

let server: RedisServer;
const opened: RedisConnection[] = [];

function connection(role: 'command' | 'subscriber' = 'command'): RedisConnection {
  const c = createRedis(loadConfig({ env: { REDIS_URL: server.url } }), role);
  opened.push(c);
  return c;
}

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await Promise.all(opened.map(closeRedis));
  await destroyAllRedis();
});

function elector(prefix: string, id: string, seen: LeaderContext[], retryDelayMs = 100): LeaderElector {
  const conn = connection();
  const e = new LeaderElector({
    id,
    keys: keyLayout(prefix),
    connection: conn,
    subscriber: connection('subscriber'),
    lease: new RedlockLeaseClient({ clients: [conn], sharesDataRedis: true }),
    leaseTtlMs: 1_000,
    extendBeforeMs: 500,
    retryDelayMs,
    retryJitterMs: 20,
    logger: silentLogger(),
  });
  e.addDuty('record', async (ctx) => {
    seen.push(ctx);
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  });
  return e;
}

describe('LeaderElector (in process, real Redis)', () => {
  it('one leader at a time; duties get the epoch and a signal that fires on hand-over; the standby takes over at once', async () => {
    const prefix = `t-${randomUUID()}`;
    const seen: LeaderContext[] = [];
    // Standbys poll only every 3 s: taking over sooner proves the release announcement woke them.
    const a = elector(prefix, 'a', seen, 3_000);
    const b = elector(prefix, 'b', seen, 3_000);
    await a.start();
    await a.waitForLeadership(5_000);
    await b.start();
    // Several extensions happen (TTL 1 s) and b never leads meanwhile.
    await new Promise((r) => setTimeout(r, 2_500));
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(b.getStatus().lastError).toMatch(/lease held by another replica|leader record/);
    expect(seen.map((c) => [c.leaderId, c.epoch])).toEqual([['a', 1]]);

    const closedAt = Date.now();
    await a.close();
    expect(seen[0]?.signal.aborted).toBe(true);
    await b.waitForLeadership(5_000);
    // Woken by the release announcement, not by its next poll (3 s) — generous for a slow machine.
    expect(Date.now() - closedAt).toBeLessThan(2_000);
    // Leading starts before the duties do (the election is announced first): wait for b's duty to run.
    await waitFor("b's duty started", () => seen.length === 2, { timeoutMs: 5_000 });
    expect(seen.map((c) => [c.leaderId, c.epoch])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    await a.close(); // idempotent
    await b.close();
    expect(seen[1]?.signal.aborted).toBe(true);
  });

  it('steps down (signal fires with the reason) when the lease is deleted behind its back', async () => {
    const prefix = `t-${randomUUID()}`;
    const seen: LeaderContext[] = [];
    const a = elector(prefix, 'a', seen);
    await a.start();
    const ctx = await a.waitForLeadership(5_000);
    await connection().del(keyLayout(prefix).leaderLease);
    await waitFor('signal aborted', () => ctx.signal.aborted, { timeoutMs: 5_000 });
    expect((ctx.signal.reason as Error).message).toMatch(/lease extension failed \(lost\)/);
    // It remains a candidate and leads again under a new epoch.
    const again = await a.waitForLeadership(5_000);
    expect(again.epoch).toBe(ctx.epoch + 1);
    expect(a.getStatus().terms).toBe(2);
    await a.close();
  });
});
