import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type EventEnvelope, type PubSubMode, type SubscribeAck, keyLayout, runRoom } from '@agent-bridge/protocol';
import { type RedisServer, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import { silentLogger } from '@agent-bridge/telemetry';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { Emitter } from '@socket.io/redis-emitter';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type JWTPayload, SignJWT } from 'jose';
import { Server } from 'socket.io';
import { type Socket, io as ioClient } from 'socket.io-client';
import { signToken } from '@agent-bridge/auth';
import { type Gateway, createGateway } from './index';

let redis: RedisServer;
let admin: Redis;
const started: Gateway[] = [];
const clients: Socket[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.port, '127.0.0.1', { lazyConnect: false });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(started.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  admin.disconnect();
  await destroyAllRedis();
});

function testConfig(overrides: Record<string, string | number | boolean> = {}): AppConfig {
  return loadConfig({
    env: {},
    overrides: {
      REDIS_URL: redis.url,
      AB_KEY_PREFIX: `gwtest-${randomUUID().slice(0, 8)}`,
      AB_INSTANCE_ID: `gw-${randomUUID().slice(0, 8)}`,
      PORT: 0,
      AB_HEARTBEAT_INTERVAL_MS: 200,
      AB_HEARTBEAT_TTL_MS: 2_000,
      ...overrides,
    },
  });
}

/**
 * A peer on the Socket.IO Redis channel in `mode`, as another server would be: classic through
 * `@socket.io/redis-emitter`, sharded through a Socket.IO server with the real sharded adapter.
 */
async function adapterPeer(
  config: AppConfig,
  mode: PubSubMode,
): Promise<{
  toRun: (runId: string, event: string, data: unknown) => void;
  serverSideEmit: (event: string, data: unknown) => void;
  close: () => void;
}> {
  const key = keyLayout(config.keyPrefix).socketIoKey;
  if (mode === 'classic') {
    const emitter = new Emitter(admin, { key });
    return {
      toRun: (runId, event, data) => void emitter.to(runRoom(runId, mode)).emit(event, data),
      serverSideEmit: (event, data) => void emitter.serverSideEmit(event, data),
      close: () => undefined,
    };
  }
  const sub = new Redis(redis.port, '127.0.0.1');
  const io = new Server();
  io.adapter(createShardedAdapter(admin, sub, { channelPrefix: key }));
  await sub.ping(); // answered after the adapter's SSUBSCRIBEs
  return {
    toRun: (runId, event, data) => void io.to(runRoom(runId, mode)).emit(event, data),
    serverSideEmit: (event, data) => void io.serverSideEmit(event, data),
    close: () => sub.disconnect(),
  };
}

async function startGateway(config: AppConfig): Promise<Gateway> {
  const gw = createGateway(config, silentLogger(), { host: '127.0.0.1' });
  started.push(gw);
  await gw.start();
  return gw;
}

function client(gw: Gateway, auth: Record<string, unknown>, extra: Record<string, unknown> = {}): Socket {
  const s = ioClient(`http://127.0.0.1:${gw.port}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth,
    ...extra,
  });
  clients.push(s);
  return s;
}

/** Resolves 'connected' or the connect_error's data/message. */
function outcome(s: Socket): Promise<{ connected: boolean; data?: unknown; message?: string }> {
  return new Promise((resolve) => {
    s.once('connect', () => resolve({ connected: true }));
    s.once('connect_error', (err: Error & { data?: unknown }) =>
      resolve({ connected: false, data: err.data, message: err.message }),
    );
  });
}

async function registerRun(config: AppConfig, runId: string, owner: string): Promise<void> {
  const now = Date.now();
  await admin.hset(keyLayout(config.keyPrefix).runMeta(runId), {
    runId,
    owner,
    agent: 'test',
    status: 'running',
    createdAt: now,
    updatedAt: now,
    headSeq: 0,
    cancelRequested: '0',
  });
}

describe('gateway authentication (guarantee 6.3: unauthorized input refused)', () => {
  it('refuses missing, expired, forged, alg:none, wrong-audience, expiry-less and subject-less tokens with UNAUTHORIZED, accepts a valid one', async () => {
    const config = testConfig();
    const gw = await startGateway(config);
    const { jwtIssuer, jwtAudience } = config.auth;
    const jwtSecret = config.auth.jwtSecret ?? '';
    const now = Math.floor(Date.now() / 1000);
    const hs256 = (claims: JWTPayload, secret = jwtSecret): Promise<string> =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
    const base = { sub: 'alice', iss: jwtIssuer, aud: jwtAudience, iat: now, exp: now + 60 };
    const expired = await hs256({ ...base, iat: now - 120, exp: now - 60 });
    const forged = await hs256(base, 'another-secret-of-sufficient-length');
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', iss: jwtIssuer, aud: jwtAudience })}.`;
    const wrongAudience = await hs256({ ...base, aud: 'someone-else' });
    const { exp: _exp, ...noExp } = base;
    const noExpiry = await hs256(noExp);
    const { sub: _sub, ...noSub } = base;
    const noSubject = await hs256(noSub);
    const cases: [string, Record<string, unknown>][] = [
      ['missing', {}],
      ['expired', { token: expired }],
      ['forged', { token: forged }],
      ['alg none', { token: none }],
      ['wrong audience', { token: wrongAudience }],
      ['no expiry', { token: noExpiry }],
      ['no subject', { token: noSubject }],
    ];
    for (const [name, auth] of cases) {
      const res = await outcome(client(gw, auth));
      expect({ name, connected: res.connected, data: res.data }).toEqual({
        name,
        connected: false,
        data: expect.objectContaining({ code: 'UNAUTHORIZED' }),
      });
    }
    const ok = await outcome(client(gw, { token: await signToken('alice', config.auth) }));
    expect(ok.connected).toBe(true);
  });

  it('refuses a hostile Origin and accepts an allowlisted one', async () => {
    const config = testConfig({ AB_CORS_ORIGINS: 'http://localhost:*,https://app.example.com' });
    const gw = await startGateway(config);
    const token = await signToken('alice', config.auth);
    const hostile = await outcome(client(gw, { token }, { extraHeaders: { Origin: 'https://evil.example.com' } }));
    expect(hostile.connected).toBe(false);
    const hostilePolling = await outcome(
      client(gw, { token }, { transports: ['polling'], extraHeaders: { Origin: 'http://localhost.evil.com:80' } }),
    );
    expect(hostilePolling.connected).toBe(false);
    const allowed = await outcome(client(gw, { token }, { extraHeaders: { Origin: 'http://localhost:5173' } }));
    expect(allowed.connected).toBe(true);
    const allowedExact = await outcome(client(gw, { token }, { extraHeaders: { Origin: 'https://app.example.com' } }));
    expect(allowedExact.connected).toBe(true);
  });
});

describe('gateway subscribe', () => {
  it('answers INVALID_REQUEST, NOT_FOUND for an unregistered run and FORBIDDEN for another user’s run', async () => {
    const config = testConfig();
    const gw = await startGateway(config);
    await registerRun(config, 'run-bob-1', 'bob');
    const s = client(gw, { token: await signToken('alice', config.auth) });
    await outcome(s);
    const invalid = (await s.emitWithAck('subscribe', { runId: 'bad:id' })) as SubscribeAck;
    expect(invalid).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    const invalidSeq = (await s.emitWithAck('subscribe', { runId: 'run-x', afterSeq: -1 })) as SubscribeAck;
    expect(invalidSeq).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    const unknown = (await s.emitWithAck('subscribe', { runId: 'run-nobody' })) as SubscribeAck;
    expect(unknown).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const forbidden = (await s.emitWithAck('subscribe', { runId: 'run-bob-1' })) as SubscribeAck;
    expect(forbidden).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // Refused subscribers never join the room: an event for bob's run does not reach alice.
    const seen: unknown[] = [];
    s.on('agent_event', (e) => seen.push(e));
    const peer = await adapterPeer(config, gw.getStatus().pubsubMode ?? 'classic');
    peer.toRun('run-bob-1', 'agent_event', { runId: 'run-bob-1', seq: 1 });
    peer.close();
    const own = (await s.emitWithAck('subscribe', { runId: 'run-nobody-2' })) as SubscribeAck;
    expect(own.ok).toBe(false);
    expect(seen).toEqual([]);
  });

  it.each(['classic', 'sharded'] as const)(
    'delivers live events published in %s Pub/Sub to the subscribed owner (the real adapter’s format)',
    async (mode) => {
      const config = testConfig({ AB_PUBSUB_MODE: mode });
      const gw = await startGateway(config);
      expect(gw.getStatus().pubsubMode).toBe(mode);
      await registerRun(config, 'run-alice-1', 'alice');
      const s = client(gw, { token: await signToken('alice', config.auth) });
      await outcome(s);
      const ack = (await s.emitWithAck('subscribe', { runId: 'run-alice-1' })) as SubscribeAck;
      expect(ack).toMatchObject({
        ok: true,
        runId: 'run-alice-1',
        headSeq: 0,
        recovered: true,
        events: [],
        status: 'running',
      });
      const got: EventEnvelope[] = [];
      s.on('agent_event', (e: EventEnvelope) => got.push(e));
      const peer = await adapterPeer(config, mode);
      const event: EventEnvelope = {
        id: 'ev-1',
        runId: 'run-alice-1',
        seq: 1,
        epoch: 1,
        type: 'agent_started',
        ts: Date.now(),
        payload: { agent: 'test' },
      };
      peer.toRun('run-alice-1', 'agent_event', event);
      await waitFor('live event', () => got.length === 1);
      peer.close();
      expect(got).toEqual([event]);
      const unsub = (await s.emitWithAck('unsubscribe', { runId: 'run-alice-1' })) as { ok: boolean };
      expect(unsub).toEqual({ ok: true });
    },
  );
  it('replays history after afterSeq in pages and says recovered:false when the epoch changed or history was trimmed', async () => {
    const config = testConfig({ AB_REPLAY_PAGE_SIZE: 2 });
    const keys = keyLayout(config.keyPrefix);
    const gw = await startGateway(config);
    const runId = 'run-hist-1';
    await registerRun(config, runId, 'alice');
    const events: EventEnvelope[] = [1, 2, 3, 4, 5].map((seq) => ({
      id: `ev-${seq}`,
      runId,
      seq,
      epoch: 3,
      type: 'agent_thinking',
      ts: 1_000 + seq,
      payload: { delta: `d${seq}` },
    }));
    for (const e of events) await admin.xadd(keys.runHistory(runId), `${e.seq}-0`, 'e', JSON.stringify(e));
    await admin.hset(keys.runMeta(runId), { headSeq: 5, epoch: 3 });
    const s = client(gw, { token: await signToken('alice', config.auth) });
    await outcome(s);
    const sub = async (req: object): Promise<SubscribeAck> =>
      (await s.emitWithAck('subscribe', { runId, ...req })) as SubscribeAck;
    expect(await sub({})).toMatchObject({
      ok: true,
      epoch: 3,
      headSeq: 5,
      recovered: true,
      events: events.slice(0, 2),
      hasMore: true,
    });
    expect(await sub({ afterSeq: 2, epoch: 3 })).toMatchObject({
      recovered: true,
      events: events.slice(2, 4),
      hasMore: true,
    });
    expect(await sub({ afterSeq: 4, epoch: 3 })).toMatchObject({
      recovered: true,
      events: events.slice(4),
      hasMore: false,
    });
    // The client's epoch is gone: replay the current incarnation from its start.
    expect(await sub({ afterSeq: 4, epoch: 2 })).toMatchObject({
      recovered: false,
      epoch: 3,
      events: events.slice(0, 2),
    });
    await admin.xtrim(keys.runHistory(runId), 'MAXLEN', 2);
    expect(await sub({ afterSeq: 1, epoch: 3 })).toMatchObject({ recovered: false, events: events.slice(3, 5) });
    expect(await sub({ afterSeq: 3, epoch: 3 })).toMatchObject({ recovered: true, events: events.slice(3, 5) });
  });
});

describe('gateway requests', () => {
  it('start_run enqueues a start_run job with the token subject as owner; cancel_run flags and publishes', async () => {
    const config = testConfig();
    const keys = keyLayout(config.keyPrefix);
    const gw = await startGateway(config);
    const s = client(gw, { token: await signToken('alice', config.auth) });
    await outcome(s);
    const res = (await s.emitWithAck('start_run', { prompt: 'hello' })) as { ok: true; runId: string };
    expect(res.ok).toBe(true);
    expect(res.runId).toMatch(/^run-[0-9a-f-]{36}$/);
    const queue = new Queue(config.queues.runs, { connection: admin, prefix: keys.bullPrefix });
    try {
      const job = await queue.getJob(res.runId);
      expect(job?.name).toBe('start_run');
      expect(job?.data).toMatchObject({ runId: res.runId, userId: 'alice', prompt: 'hello', agent: 'demo-agent' });
    } finally {
      await queue.close();
    }
    // The run is registered as pending for its owner, so the owner may subscribe at once.
    const ack = (await s.emitWithAck('subscribe', { runId: res.runId })) as SubscribeAck;
    expect(ack).toMatchObject({ ok: true, status: 'pending', headSeq: 0 });

    const sub = new Redis(redis.port, '127.0.0.1');
    try {
      const messages: string[] = [];
      sub.on('message', (_ch: string, msg: string) => messages.push(msg));
      await sub.subscribe(keys.runControlChannel(res.runId));
      const cancel = (await s.emitWithAck('cancel_run', { runId: res.runId })) as { ok: boolean };
      expect(cancel).toEqual({ ok: true });
      await waitFor('cancel message', () => messages.length === 1);
      expect(messages).toEqual(['{"type":"cancel"}']);
      expect(await admin.hget(keys.runMeta(res.runId), 'cancelRequested')).toBe('1');
    } finally {
      sub.disconnect();
    }
    const bob = client(gw, { token: await signToken('bob', config.auth) });
    await outcome(bob);
    expect(await bob.emitWithAck('cancel_run', { runId: res.runId })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(await bob.emitWithAck('start_run', { prompt: '' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
  });

  it('rate-limits a flooding user with RATE_LIMITED (retryAfterMs, scope user) while another user is served normally', async () => {
    const config = testConfig({ AB_LIMIT_USER_REQUESTS: 20, AB_LIMIT_REQUEST_WINDOW_MS: 60_000 });
    const gw = await startGateway(config);
    await registerRun(config, 'run-flood', 'alice');
    await registerRun(config, 'run-calm', 'bob');
    const flooder = client(gw, { token: await signToken('alice', config.auth) });
    const calm = client(gw, { token: await signToken('bob', config.auth) });
    await Promise.all([outcome(flooder), outcome(calm)]);
    const acks = (await Promise.all(
      Array.from({ length: 200 }, () => flooder.emitWithAck('subscribe', { runId: 'run-flood' })),
    )) as SubscribeAck[];
    const ok = acks.filter((a) => a.ok).length;
    const limited = acks.filter((a) => !a.ok && a.error.code === 'RATE_LIMITED');
    expect({ ok, limited: limited.length }).toEqual({ ok: 20, limited: 180 });
    const first = limited[0] as { error: { details: { retryAfterMs: number; scope: string } } };
    expect(first.error.details.scope).toBe('user');
    expect(first.error.details.retryAfterMs).toBeGreaterThan(0);
    expect(first.error.details.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await calm.emitWithAck('subscribe', { runId: 'run-calm' })).toMatchObject({ ok: true });
    expect(flooder.connected).toBe(true);
  });

  it('closes the connection of a client that sends a message over the size limit; others stay', async () => {
    const config = testConfig({ AB_GATEWAY_MAX_MESSAGE_BYTES: 1024 });
    const gw = await startGateway(config);
    const big = client(gw, { token: await signToken('alice', config.auth) });
    const other = client(gw, { token: await signToken('alice', config.auth) });
    await Promise.all([outcome(big), outcome(other)]);
    const closed = new Promise<string>((resolve) => big.once('disconnect', (reason) => resolve(reason)));
    big.emit('start_run', { prompt: 'x'.repeat(4096) }, () => undefined);
    expect(await closed).toBe('transport close');
    expect(await other.emitWithAck('start_run', { prompt: 'still fine' })).toMatchObject({ ok: true });
  });
});

describe('gateway membership, probe and HTTP', () => {
  it('refuses to start in another Pub/Sub mode than a live member (a sharded publish never reaches a classic subscriber)', async () => {
    const classic = testConfig({ AB_PUBSUB_MODE: 'classic' });
    const first = await startGateway(classic);
    const sharded = testConfig({ AB_PUBSUB_MODE: 'sharded', AB_KEY_PREFIX: classic.keyPrefix });
    const err = await startGateway(sharded).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      new RegExp(`Pub/Sub mode sharded differs from live members: gateway ${first.id} \\(classic\\)`),
    );
    // auto resolves to sharded on this Redis (≥ 7): refused as well; classic joins.
    const auto = testConfig({ AB_KEY_PREFIX: classic.keyPrefix });
    await expect(startGateway(auto)).rejects.toThrow(/differs from live members/);
    const second = await startGateway(testConfig({ AB_PUBSUB_MODE: 'classic', AB_KEY_PREFIX: classic.keyPrefix }));
    expect(second.getStatus().pubsubMode).toBe('classic');
  });

  it.each(['classic', 'sharded'] as const)(
    'answers the leader’s end-to-end probe sent in %s Pub/Sub (serverSideEmit)',
    async (mode) => {
      const config = testConfig({ AB_PUBSUB_MODE: mode });
      const keys = keyLayout(config.keyPrefix);
      const gw = await startGateway(config);
      const sub = new Redis(redis.port, '127.0.0.1');
      try {
        const replies: string[] = [];
        const probeId = randomUUID();
        const replyChannel = keys.probeReplyChannel(probeId);
        sub.on('message', (ch: string, msg: string) => {
          if (ch === replyChannel) replies.push(msg);
        });
        await sub.subscribe(replyChannel);
        const peer = await adapterPeer(config, mode);
        peer.serverSideEmit('probe', { probeId, replyChannel });
        await waitFor('probe reply', () => replies.length === 1);
        peer.close();
        expect(replies).toEqual([gw.id]);
      } finally {
        sub.disconnect();
      }
    },
  );

  it('serves /healthz, /readyz and demo sign-in; heartbeats membership with the socket count; leaves it on close', async () => {
    const config = testConfig({ AB_GATEWAY_CHAT_PAGE: true });
    const keys = keyLayout(config.keyPrefix);
    const gw = await startGateway(config);
    const base = `http://127.0.0.1:${gw.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, state: 'running', id: config.instanceId });
    const bad = await fetch(`${base}/auth/demo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({}),
    });
    expect(bad.status).toBe(400);
    const signIn = await fetch(`${base}/auth/demo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'carol' }),
    });
    const { token } = (await signIn.json()) as { token: string };
    const s = client(gw, { token });
    expect((await outcome(s)).connected).toBe(true);
    await waitFor('membership record with one socket', async () => {
      const raw = await admin.hget(keys.memberRecords('gateway'), config.instanceId);
      return raw !== null && (JSON.parse(raw) as { info: { sockets: number } }).info.sockets === 1;
    });
    const disconnected = new Promise<string>((resolve) => s.once('disconnect', (r) => resolve(r)));
    await gw.close();
    await gw.close();
    // The connection is dropped (not a Socket.IO "server disconnect"), so stock clients reconnect too.
    expect(await disconnected).toBe('transport close');
    expect(await admin.hget(keys.memberRecords('gateway'), config.instanceId)).toBeNull();
    expect(await admin.zscore(keys.members('gateway'), config.instanceId)).toBeNull();
    expect(gw.getStatus().state).toBe('closed');
  });

  it('serves the chat page folder at / (index.html, assets) and nothing outside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-public-'));
    writeFileSync(join(dir, 'index.html'), '<h1>chat</h1>');
    mkdirSync(join(dir, 'js'));
    writeFileSync(join(dir, 'js', 'app.js'), 'console.log(1)');
    const gw = createGateway(testConfig({ AB_GATEWAY_CHAT_PAGE: true }), silentLogger(), {
      host: '127.0.0.1',
      publicDir: dir,
    });
    started.push(gw);
    await gw.start();
    const base = `http://127.0.0.1:${gw.port}`;
    const index = await fetch(`${base}/`);
    expect([index.status, index.headers.get('content-type'), await index.text()]).toEqual([
      200,
      'text/html; charset=utf-8',
      '<h1>chat</h1>',
    ]);
    const js = await fetch(`${base}/js/app.js`);
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await fetch(`${base}/missing.html`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/%2e%2e/package.json`)).status).toBe(404);
    expect((await fetch(`${base}/js/..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    // Fastify refuses a malformed escape before routing.
    expect((await fetch(`${base}/%E0%A4%A`)).status).toBe(400);
  });

  it('does not serve the demo sign-in nor the chat page unless asked for (guarantee 7.1: off by default)', async () => {
    const gw = await startGateway(testConfig());
    const res = await fetch(`http://127.0.0.1:${gw.port}/auth/demo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'carol' }),
    });
    expect(res.status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${gw.port}/`)).status).toBe(404);
  });
});
