// Limits per user and per client IP, shared by every gateway (guarantee 5.6): two in-process gateways on one
// real redis-server, real socket.io-client connections, real HTTP.
import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { keyLayout } from '@agent-bridge/protocol';
import { type RedisServer, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import { silentLogger } from '@agent-bridge/telemetry';
import { Redis } from 'ioredis';
import { type Socket, io as ioClient } from 'socket.io-client';
import { signToken } from '@agent-bridge/auth';
import { type Gateway, createGateway } from '../index';

let redis: RedisServer;
let admin: Redis;
const started: Gateway[] = [];
const clients: Socket[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.port, '127.0.0.1');
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(started.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  admin.disconnect();
  await destroyAllRedis();
});

/** One installation (key prefix) with these limits; `gateways()` starts its gateways. */
function installation(limits: Record<string, string | number>): {
  config: AppConfig;
  gateways: (n: number) => Promise<Gateway[]>;
} {
  const prefix = `lim-${randomUUID().slice(0, 8)}`;
  const configFor = (): AppConfig =>
    loadConfig({
      env: {},
      overrides: {
        REDIS_URL: redis.url,
        AB_KEY_PREFIX: prefix,
        AB_INSTANCE_ID: `gw-${randomUUID().slice(0, 8)}`,
        PORT: 0,
        AB_HEARTBEAT_INTERVAL_MS: 200,
        AB_HEARTBEAT_TTL_MS: 2_000,
        ...limits,
      },
    });
  const config = configFor();
  return {
    config,
    gateways: (n) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const gw = createGateway(configFor(), silentLogger(), { host: '127.0.0.1' });
          started.push(gw);
          await gw.start();
          return gw;
        }),
      ),
  };
}

interface Outcome {
  connected: boolean;
  data?: { code: string; message: string; details?: { scope?: string; limit?: number; retryAfterMs?: number } };
}

async function connectAs(
  gw: Gateway,
  config: AppConfig,
  userId: string,
  forwardedFor?: string,
): Promise<Outcome & { socket: Socket }> {
  const socket = ioClient(`http://127.0.0.1:${gw.port}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token: await signToken(userId, config.auth) },
    ...(forwardedFor === undefined ? {} : { extraHeaders: { 'x-forwarded-for': forwardedFor } }),
  });
  clients.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ connected: true, socket }));
    socket.once('connect_error', (err: Error & { data?: Outcome['data'] }) =>
      resolve({ connected: false, data: err.data, socket }),
    );
  });
}

describe('limits per user and per IP over all gateways (guarantee 5.6)', () => {
  it('a user gets at most AB_LIMIT_USER_CONNECTIONS connections over two gateways (TOO_MANY_CONNECTIONS), others connect, a closed one frees its slot', async () => {
    const { config, gateways } = installation({ AB_LIMIT_USER_CONNECTIONS: 3 });
    const [a, b] = (await gateways(2)) as [Gateway, Gateway];
    const first = [
      await connectAs(a, config, 'alice'),
      await connectAs(b, config, 'alice'),
      await connectAs(a, config, 'alice'),
    ];
    expect(first.map((o) => o.connected)).toEqual([true, true, true]);
    const refused = [await connectAs(b, config, 'alice'), await connectAs(a, config, 'alice')];
    for (const r of refused) {
      expect(r.data).toEqual({
        code: 'TOO_MANY_CONNECTIONS',
        message: 'too many open connections for this user (limit 3)',
        details: { scope: 'user', limit: 3 },
      });
    }
    expect((await connectAs(b, config, 'bob')).connected).toBe(true);
    first[1]!.socket.disconnect();
    await waitFor('alice may connect again', async () => (await connectAs(b, config, 'alice')).connected, {
      timeoutMs: 10_000,
    });
  });

  it('a client IP gets at most AB_LIMIT_IP_CONNECTIONS connections over two gateways, whatever the user; X-Forwarded-For counts only behind trusted proxies', async () => {
    const behindProxy = installation({ AB_LIMIT_IP_CONNECTIONS: 2, AB_TRUST_PROXY_HOPS: 1 });
    const [a, b] = (await behindProxy.gateways(2)) as [Gateway, Gateway];
    const cfg = behindProxy.config;
    expect((await connectAs(a, cfg, 'u1', '10.0.0.1')).connected).toBe(true);
    expect((await connectAs(b, cfg, 'u2', '10.0.0.1')).connected).toBe(true);
    expect((await connectAs(b, cfg, 'u3', '10.0.0.1')).data).toMatchObject({
      code: 'TOO_MANY_CONNECTIONS',
      details: { scope: 'ip', limit: 2 },
    });
    // Only the last hop is trusted: what the client wrote in front of it is ignored.
    expect((await connectAs(a, cfg, 'u4', '10.0.0.9, 10.0.0.1')).data).toMatchObject({ code: 'TOO_MANY_CONNECTIONS' });
    expect((await connectAs(a, cfg, 'u5', '10.0.0.1, 10.0.0.2')).connected).toBe(true);

    const direct = installation({ AB_LIMIT_IP_CONNECTIONS: 2 });
    const [c] = (await direct.gateways(1)) as [Gateway];
    expect((await connectAs(c, direct.config, 'v1', '10.1.0.1')).connected).toBe(true);
    expect((await connectAs(c, direct.config, 'v2', '10.1.0.2')).connected).toBe(true);
    // Not behind a trusted proxy: a forged header does not make a new client.
    expect((await connectAs(c, direct.config, 'v3', '10.1.0.3')).data).toMatchObject({
      code: 'TOO_MANY_CONNECTIONS',
      details: { scope: 'ip' },
    });
  });

  it('the request rate of a user is shared by its connections on every gateway', async () => {
    const { config, gateways } = installation({ AB_LIMIT_USER_REQUESTS: 10, AB_LIMIT_REQUEST_WINDOW_MS: 60_000 });
    const [a, b] = (await gateways(2)) as [Gateway, Gateway];
    const sa = (await connectAs(a, config, 'alice')).socket;
    const sb = (await connectAs(b, config, 'alice')).socket;
    const acks = (await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? sa : sb).emitWithAck('subscribe', { runId: 'no-such-run' })),
    )) as { ok: false; error: { code: string; details?: { scope?: string } } }[];
    const codes = acks.map((x) => x.error.code).sort();
    expect(codes.filter((c) => c === 'NOT_FOUND')).toHaveLength(10);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(2);
    expect(acks.find((x) => x.error.code === 'RATE_LIMITED')?.error.details?.scope).toBe('user');
    const other = (await connectAs(b, config, 'bob')).socket;
    expect(await other.emitWithAck('subscribe', { runId: 'no-such-run' })).toMatchObject({
      error: { code: 'NOT_FOUND' },
    });
  });

  it('start_run: AB_LIMIT_USER_START_RUNS per window over all gateways, then RATE_LIMITED', async () => {
    const { config, gateways } = installation({ AB_LIMIT_USER_START_RUNS: 3, AB_LIMIT_START_RUN_WINDOW_MS: 60_000 });
    const [a, b] = (await gateways(2)) as [Gateway, Gateway];
    const sa = (await connectAs(a, config, 'alice')).socket;
    const sb = (await connectAs(b, config, 'alice')).socket;
    const acks = (await Promise.all([sa, sb, sa, sb, sa].map((s) => s.emitWithAck('start_run', { prompt: 'hi' })))) as {
      ok: boolean;
      error?: { code: string; details: { retryAfterMs: number } };
    }[];
    expect(acks.filter((x) => x.ok)).toHaveLength(3);
    const limited = acks.filter((x) => x.error?.code === 'RATE_LIMITED');
    expect(limited).toHaveLength(2);
    expect(limited[0]!.error!.details.retryAfterMs).toBeGreaterThan(0);
  });

  it('concurrent runs: AB_LIMIT_USER_RUNS unfinished runs per user (TOO_MANY_RUNS); a run that ended frees its slot', async () => {
    const { config, gateways } = installation({ AB_LIMIT_USER_RUNS: 2 });
    const keys = keyLayout(config.keyPrefix);
    const [a, b] = (await gateways(2)) as [Gateway, Gateway];
    const sa = (await connectAs(a, config, 'alice')).socket;
    const sb = (await connectAs(b, config, 'alice')).socket;
    const r1 = (await sa.emitWithAck('start_run', { prompt: 'one' })) as { ok: true; runId: string };
    const r2 = (await sb.emitWithAck('start_run', { prompt: 'two' })) as { ok: true; runId: string };
    expect([r1.ok, r2.ok]).toEqual([true, true]);
    expect(await sa.emitWithAck('start_run', { prompt: 'three' })).toEqual({
      ok: false,
      error: { code: 'TOO_MANY_RUNS', message: expect.stringContaining('limit 2') as string, details: { limit: 2 } },
    });
    const bob = (await connectAs(b, config, 'bob')).socket;
    expect(await bob.emitWithAck('start_run', { prompt: 'bob' })).toMatchObject({ ok: true });
    // The bridge's commit script marks a run finished in its registry record; here the record is set so.
    await admin.hset(keys.runMeta(r1.runId), 'status', 'completed');
    expect(await sb.emitWithAck('start_run', { prompt: 'four' })).toMatchObject({ ok: true });
    expect(await sb.emitWithAck('start_run', { prompt: 'five' })).toMatchObject({ error: { code: 'TOO_MANY_RUNS' } });
  });

  it('concurrent runs: a burst of start_run from many sockets gets exactly AB_LIMIT_USER_RUNS runs', async () => {
    // A slot taken by a start_run whose registry record is not written yet is a run starting, not a
    // finished one: counted as finished, it was pruned and the burst got far more runs than the limit.
    const { config, gateways } = installation({ AB_LIMIT_USER_RUNS: 3, AB_LIMIT_USER_START_RUNS: 0 });
    const [a, b] = (await gateways(2)) as [Gateway, Gateway];
    const sockets = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => (await connectAs(i % 2 === 0 ? a : b, config, 'carol')).socket),
    );
    const acks = (await Promise.all(
      sockets.flatMap((s) => [1, 2, 3].map((n) => s.emitWithAck('start_run', { prompt: `burst ${n}` }))),
    )) as { ok: boolean; error?: { code: string } }[];
    expect(acks.filter((r) => r.ok)).toHaveLength(3);
    expect(acks.filter((r) => !r.ok).map((r) => r.error?.code)).toEqual(Array(27).fill('TOO_MANY_RUNS'));
  });

  it('HTTP: per-IP request limit answers 429 with Retry-After and RATE_LIMITED; probes are exempt', async () => {
    const { gateways } = installation({ AB_LIMIT_IP_REQUESTS: 5, AB_LIMIT_REQUEST_WINDOW_MS: 60_000 });
    const [gw] = (await gateways(1)) as [Gateway];
    const base = `http://127.0.0.1:${gw.port}`;
    const statuses: number[] = [];
    let last: Response | null = null;
    for (let i = 0; i < 8; i++) {
      last = await fetch(`${base}/nothing-here`);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await last!.json()).toMatchObject({ error: { code: 'RATE_LIMITED', details: { scope: 'ip' } } });
    for (let i = 0; i < 10; i++) expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
