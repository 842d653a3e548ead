import type { PublishedState, StateTransition } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, registerRun } from '@agent-bridge/redis';
import { type RedisServer, startRedis } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { buildStatusBundle } from '../launcher/page-bundles';
import { OPS_USER as USER, type OpsFixture, basicAuth, startOpsFixture } from './test-fixture';
import type { OpsStatus } from '../status/status-reader';

const auth = basicAuth;

let redis: RedisServer | undefined;
let conn: RedisConnection;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.destroy();
});

/** The shared fixture; `conn` stays the latest fixture's connection, as the tests below use it. */
async function fixture(overrides: Record<string, string | number | boolean> = {}): Promise<OpsFixture> {
  const f = await startOpsFixture(redis!, overrides);
  conn = f.conn;
  return f;
}

describe('ops server', () => {
  test('Bull Board answers 401 without credentials, lists the four queues with them, and refuses writes when read-only', async () => {
    const f = await fixture();
    try {
      expect((await fetch(`${f.base}/board/`)).status).toBe(401);
      expect((await fetch(`${f.base}/board/api/queues`)).status).toBe(401);
      expect((await fetch(`${f.base}/board/api/queues`, { headers: auth(USER, 'wrong-password') })).status).toBe(401);
      expect((await fetch(`${f.base}/board/`, { headers: auth() })).status).toBe(200);

      const res = await fetch(`${f.base}/board/api/queues`, { headers: auth() });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
      expect(body.queues.map((q) => q.name).sort()).toEqual(
        [f.config.queues.events, f.config.queues.control, f.config.queues.deadLetter, f.config.queues.runs].sort(),
      );
      expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);

      for (const path of [
        `/board/api/queues/${f.config.queues.events}/pause`,
        `/board/api/queues/${f.config.queues.events}/retry/failed`,
        `/board/api/queues/${f.config.queues.events}/empty`,
      ]) {
        const write = await fetch(`${f.base}${path}`, { method: 'PUT', headers: auth() });
        expect({ path, status: write.status }).toEqual({ path, status: 405 });
      }
      // Nothing was paused.
      const q = new Queue(f.config.queues.events, { connection: conn, prefix: f.keys.bullPrefix });
      expect(await q.isPaused()).toBe(false);
      await q.close();
    } finally {
      await f.close();
    }
  });

  test('with AB_OPS_READ_ONLY=false Bull Board writes go through', async () => {
    const f = await fixture({ AB_OPS_READ_ONLY: false });
    try {
      const res = await fetch(`${f.base}/board/api/queues/${f.config.queues.events}/pause`, {
        method: 'PUT',
        headers: auth(),
      });
      expect(res.status).toBeLessThan(300);
      const q = new Queue(f.config.queues.events, { connection: conn, prefix: f.keys.bullPrefix });
      expect(await q.isPaused()).toBe(true);
      await q.close();
    } finally {
      await f.close();
    }
  });

  test('GET /api/status reports the published state, leader, members, queues, history and failures from Redis', async () => {
    const f = await fixture();
    try {
      const { keys, config } = f;
      const now = Date.now();
      const published: PublishedState = {
        state: 'DEGRADED',
        leaderId: 'bridge-a',
        epoch: 7,
        since: now - 1000,
        reason: 'gateway missing',
        failingChecks: [],
      };
      const transitions: StateTransition[] = [
        {
          from: 'UNINITIALIZED',
          to: 'INITIALIZING',
          leaderId: 'bridge-a',
          epoch: 7,
          at: now - 3000,
          reason: 'start',
          failingChecks: [],
        },
        {
          from: 'INITIALIZING',
          to: 'ACTIVE',
          leaderId: 'bridge-a',
          epoch: 7,
          at: now - 2000,
          reason: 'checks ok',
          failingChecks: [],
        },
        {
          from: 'ACTIVE',
          to: 'DEGRADED',
          leaderId: 'bridge-a',
          epoch: 7,
          at: now - 1000,
          reason: 'gateway missing',
          failingChecks: [],
        },
      ];
      const member = (id: string, role: 'bridge' | 'gateway', lastSeen: number) =>
        JSON.stringify({ id, role, host: 'h', pid: 1, startedAt: now - 10_000, lastSeen, info: {} });
      await conn
        .multi()
        .set(keys.integrationState, JSON.stringify(published))
        // History is newest first (LPUSH in transition order).
        .lpush(keys.integrationHistory, ...transitions.map((t) => JSON.stringify(t)))
        .hset(keys.leader, 'id', 'bridge-a', 'token', 'tok', 'epoch', '7')
        .pexpire(keys.leader, 3000)
        .set(keys.leaderEpoch, '7')
        .zadd(keys.members('bridge'), now + 5000, 'bridge-a', now - 100, 'bridge-dead')
        .hset(keys.memberRecords('bridge'), 'bridge-a', member('bridge-a', 'bridge', now - 200))
        .hset(keys.memberRecords('bridge'), 'bridge-dead', member('bridge-dead', 'bridge', now - 6000))
        .zadd(keys.members('gateway'), now + 5000, 'gw-1')
        .hset(keys.memberRecords('gateway'), 'gw-1', member('gw-1', 'gateway', now - 300))
        .lpush(keys.recoveryLog, JSON.stringify({ incidentId: 'inc-1', outcome: 'succeeded' }))
        .exec();
      const events = new Queue(config.queues.events, { connection: conn, prefix: keys.bullPrefix });
      await events.add('event', { n: 1 }, { jobId: 'ev-a', timestamp: now - 4000 });
      await events.add('event', { n: 2 }, { jobId: 'ev-b' });
      const dlq = new Queue(config.queues.deadLetter, { connection: conn, prefix: keys.bullPrefix });
      await dlq.add('event', {
        queue: config.queues.events,
        jobId: 'ev-bad',
        name: 'event',
        data: {},
        reason: { code: 'INVALID_EVENT', message: 'seq must be positive' },
        deadLetteredAt: now - 500,
      });
      await Promise.all([events.close(), dlq.close()]);

      expect((await fetch(`${f.base}/api/status`)).status).toBe(401);
      const s = (await (await fetch(`${f.base}/api/status`, { headers: auth() })).json()) as OpsStatus;
      expect(s.integration).toEqual(published);
      expect(s.leader.id).toBe('bridge-a');
      expect(s.leader.epoch).toBe(7);
      expect(s.leader.lastIssuedEpoch).toBe(7);
      expect(s.leader.leaseRemainingMs).toBeGreaterThan(0);
      expect(s.replicas.map((m) => [m.id, m.alive])).toEqual([
        ['bridge-a', true],
        ['bridge-dead', false],
      ]);
      expect(s.gateways.map((m) => [m.id, m.alive])).toEqual([['gw-1', true]]);
      // The Redis deployment (issue 12): topology, the Pub/Sub mode it gives (Redis ≥ 7 here), partitions.
      expect(s.redis).toMatchObject({ pubsubMode: 'sharded', eventPartitions: config.queues.eventPartitions });
      expect(s.redis.topology).toMatchObject({ mode: 'standalone', slotsCovered: null, sentinelName: null });
      expect(s.redis.topology!.masters).toHaveLength(1);
      expect(s.redis.topology!.masters[0]).toMatchObject({ maxmemoryPolicy: 'noeviction', replicas: [] });
      expect(s.redis.summary).toMatch(/^standalone: 1 master \(.+\), 0 replicas$/);
      expect(s.transitions.map((t) => t.to)).toEqual(['DEGRADED', 'ACTIVE', 'INITIALIZING']);
      expect(s.recoveries).toEqual([{ incidentId: 'inc-1', outcome: 'succeeded' }]);
      const ev = s.queues.find((q) => q.name === config.queues.events)!;
      expect(ev.waiting).toBe(2);
      expect(ev.lagMs).toBeGreaterThanOrEqual(4000);
      expect(s.failures).toEqual([
        {
          source: 'dead-letter',
          queue: config.queues.events,
          jobId: 'ev-bad',
          name: 'event',
          reason: 'INVALID_EVENT: seq must be positive',
          at: now - 500,
        },
      ]);
      expect(s.refreshMs).toBe(config.ops.refreshMs);

      const history = (await (await fetch(`${f.base}/api/history?limit=2`, { headers: auth() })).json()) as {
        transitions: StateTransition[];
      };
      expect(history.transitions.map((t) => t.to)).toEqual(['DEGRADED', 'ACTIVE']);
    } finally {
      await f.close();
    }
  });

  test('GET /api/runs lists runs (all or one user) and the status page is served behind auth; probes are public', async () => {
    const f = await fixture();
    try {
      await registerRun(conn, f.keys, { runId: 'run-1', owner: 'alice', agent: 'demo' });
      await registerRun(conn, f.keys, { runId: 'run-2', owner: 'bob', agent: 'demo' });
      const all = (await (await fetch(`${f.base}/api/runs`, { headers: auth() })).json()) as {
        runs: { runId: string }[];
      };
      expect(all.runs.map((r) => r.runId).sort()).toEqual(['run-1', 'run-2']);
      const bob = (await (await fetch(`${f.base}/api/runs?user=bob`, { headers: auth() })).json()) as {
        runs: { runId: string; owner: string }[];
      };
      expect(bob.runs.map((r) => [r.runId, r.owner])).toEqual([['run-2', 'bob']]);

      expect((await fetch(`${f.base}/status`)).status).toBe(401);
      const page = await fetch(`${f.base}/status`, { headers: auth() });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script src="/status.js"></script>');
      expect((await fetch(`${f.base}/healthz`)).status).toBe(200);
      expect((await fetch(`${f.base}/readyz`)).status).toBe(200);
    } finally {
      await f.close();
    }
  });

  test("the status page's script is its TypeScript bundled (with uPlot), served behind auth with its source map", async () => {
    await buildStatusBundle();
    const f = await fixture();
    try {
      const html = await (await fetch(`${f.base}/status`, { headers: auth() })).text();
      expect(html.match(/<script [^>]*>/g)).toEqual(['<script src="/status.js">']);
      expect((await fetch(`${f.base}/status.js`)).status).toBe(401);
      const js = await fetch(`${f.base}/status.js`, { headers: auth() });
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const code = await js.text();
      for (const api of ['/api/status', '/api/series?since=', '/api/dlq']) expect(code).toContain(api);
      expect(code).toMatch(/\/\/# sourceMappingURL=status\.js\.map\s*$/);
      const map = (await (await fetch(`${f.base}/status.js.map`, { headers: auth() })).json()) as { sources: string[] };
      expect(map.sources).toEqual(
        expect.arrayContaining(['../../status-page/main.ts', '../../../../node_modules/uplot/dist/uPlot.esm.js']),
      );
    } finally {
      await f.close();
    }
  });

  test('dead letters over HTTP: listed with reasons; requeue refused read-only (403), needs JSON (415), works in write mode', async () => {
    const record = (jobId: string) => ({
      queue: 'agent-events',
      jobId,
      name: 'event',
      data: { id: jobId, runId: 'run-x', seq: 1 },
      reason: { code: 'NOT_FOUND', message: 'run run-x is not registered' },
      deadLetteredAt: Date.now(),
    });
    const ro = await fixture();
    const dlq = new Queue(ro.config.queues.deadLetter, { connection: conn, prefix: ro.keys.bullPrefix });
    try {
      await dlq.add('dead_letter', record('j1'), { jobId: 'dlq-j1' });
      const list = (await (await fetch(`${ro.base}/api/dlq`, { headers: auth() })).json()) as {
        readOnly: boolean;
        total: number;
        records: { id: string; reason: { code: string } }[];
      };
      expect(list).toMatchObject({
        readOnly: true,
        total: 1,
        records: [{ id: 'dlq-j1', reason: { code: 'NOT_FOUND' } }],
      });
      expect((await fetch(`${ro.base}/api/dlq/dlq-j1`, { headers: auth() })).status).toBe(200);
      expect((await fetch(`${ro.base}/api/dlq/nope`, { headers: auth() })).status).toBe(404);
      const json = { ...auth(), 'content-type': 'application/json' };
      const refused = await fetch(`${ro.base}/api/dlq/dlq-j1/requeue`, { method: 'POST', headers: json, body: '{}' });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
      expect(await dlq.getJob('dlq-j1')).toBeDefined();
    } finally {
      await dlq.close();
      await ro.close();
    }

    const rw = await fixture({ AB_OPS_READ_ONLY: false });
    const dlq2 = new Queue(rw.config.queues.deadLetter, { connection: conn, prefix: rw.keys.bullPrefix });
    try {
      await dlq2.add('dead_letter', record('j2'), { jobId: 'dlq-j2' });
      const url = `${rw.base}/api/dlq/dlq-j2/requeue`;
      // A cross-site form can only send form or text bodies: refused.
      const form = await fetch(url, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1',
      });
      expect(form.status).toBe(415);
      const ok = await fetch(url, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: '{}',
      });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ id: 'dlq-j2', jobId: 'requeue-dlq-j2' });
      expect(await dlq2.getJob('dlq-j2')).toBeUndefined();
    } finally {
      await dlq2.close();
      await rw.close();
    }
  });

  test('GET /api/series returns the sampled window; the chart library is served locally', async () => {
    const f = await fixture();
    try {
      // The server's own timer may take this bucket first: either way the bucket is in the ring once.
      const t = Date.now();
      await f.server.sampler.sampleOnce(t);
      const bucket = Math.floor(t / f.server.sampler.intervalMs) * f.server.sampler.intervalMs;
      const series = (await (await fetch(`${f.base}/api/series`, { headers: auth() })).json()) as {
        windowMs: number;
        samples: { at: number }[];
      };
      expect(series.windowMs).toBe(f.config.ops.sampleWindowMs);
      expect(series.samples.filter((s) => s.at === bucket)).toHaveLength(1);
      const after = (await (await fetch(`${f.base}/api/series?since=${Date.now()}`, { headers: auth() })).json()) as {
        samples: unknown[];
      };
      expect(after.samples).toEqual([]);
      const css = await fetch(`${f.base}/vendor/uPlot.min.css`, { headers: auth() });
      expect(css.status).toBe(200);
      expect(await css.text()).toContain('.uplot');
    } finally {
      await f.close();
    }
  });

  test('close() is idempotent and start() after close() is refused', async () => {
    const f = await fixture();
    await Promise.all([f.server.close(), f.server.close()]);
    await expect(f.server.start()).rejects.toThrow(/cannot start/);
    await closeRedis(conn);
  });
});
