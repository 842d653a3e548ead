// infra/redis/users.acl (rendered with passwords by infra/redis/render-acl.sh): each role's Redis user can do what that role does, and no more.
// The real ACL file is loaded into a real redis-server; the operations are the services' own code paths
// (BullMQ queues and workers, run registry, history reads, membership, the ops status reader).
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { silentLogger } from '@agent-bridge/telemetry';
import { keyLayout } from '@agent-bridge/protocol';
import {
  MemberHeartbeat,
  type RedisConnection,
  checkRedis,
  closeRedis,
  createRedis,
  getRun,
  readHistory,
  registerRun,
  requestCancel,
} from '@agent-bridge/redis';
import { DeadLetters, OpsSampler, StatusReader } from '@agent-bridge/ops';
import { type RedisServer, startRedis, waitFor } from '@agent-bridge/testing';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Emitter } from '@socket.io/redis-emitter';
import { Queue, Worker } from 'bullmq';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as ioClient } from 'socket.io-client';

const ACL_RULES = join(__dirname, '..', '..', 'infra', 'redis', 'users.acl');
const RENDER_ACL = join(__dirname, '..', '..', 'infra', 'redis', 'render-acl.sh');
// Fresh passwords per run, rendered into the ACL file by the same script docker-compose.yml runs.
const PASSWORDS = {
  bridge: randomBytes(20).toString('hex'),
  gateway: randomBytes(20).toString('hex'),
  agent: randomBytes(20).toString('hex'),
  ops: randomBytes(20).toString('hex'),
} as const;
type Role = keyof typeof PASSWORDS;

function renderAcl(): string {
  const out = join(mkdtempSync(join(tmpdir(), 'ab-acl-')), 'users.acl');
  execFileSync('sh', [RENDER_ACL, ACL_RULES, out], {
    env: {
      PATH: process.env['PATH'],
      AB_REDIS_BRIDGE_PASSWORD: PASSWORDS.bridge,
      AB_REDIS_GATEWAY_PASSWORD: PASSWORDS.gateway,
      AB_REDIS_AGENT_PASSWORD: PASSWORDS.agent,
      AB_REDIS_OPS_PASSWORD: PASSWORDS.ops,
    },
  });
  return out;
}

let redis: RedisServer;
const open: RedisConnection[] = [];

beforeAll(async () => {
  redis = await startRedis({ args: ['--aclfile', renderAcl()] });
});
afterAll(async () => {
  await Promise.all(open.map((c) => closeRedis(c)));
  await redis?.destroy();
});

// The ACL patterns are written for the default key prefix `ab`; each test uses its own run ids and queue
// contents instead of its own prefix.
function configFor(role: Role): AppConfig {
  return loadConfig({
    env: {},
    overrides: { REDIS_URL: `redis://${role}:${PASSWORDS[role]}@127.0.0.1:${redis.port}`, AB_KEY_PREFIX: 'ab' },
  });
}

function connect(role: Role, kind: 'command' | 'worker' = 'command'): RedisConnection {
  const conn = createRedis(configFor(role), kind, { name: `acl-test-${role}` });
  open.push(conn);
  return conn;
}

const keys = keyLayout('ab');
const NOPERM = /NOPERM/;
// How Redis 7 words an ACL refusal inside a script.
const SCRIPT_NOPERM = /NOPERM|can't run this command|can't access|no permissions to access/;

describe('Redis ACL users (infra/redis/users.acl)', () => {
  test('default user: PING only (health checks), no data', async () => {
    expect(await redis.cli('PING')).toBe('PONG');
    expect(await redis.cli('GET', keys.integrationState)).toMatch(NOPERM);
    expect(await redis.cli('FLUSHALL')).toMatch(NOPERM);
  });

  test('bridge: consumes the events queue with a BullMQ worker, commits history, publishes state; no FLUSHALL', async () => {
    const conn = connect('bridge');
    const workerConn = connect('bridge', 'worker');
    const config = configFor('bridge');
    const queue = new Queue(config.queues.events, { connection: conn, prefix: keys.bullPrefix });
    const seen: string[] = [];
    const worker = new Worker(
      config.queues.events,
      async (job) => {
        seen.push(job.id ?? '');
      },
      { connection: workerConn, prefix: keys.bullPrefix },
    );
    try {
      const id = `acl-${randomUUID().slice(0, 8)}`;
      await queue.add('event', { n: 1 }, { jobId: id });
      await waitFor('worker to process the job', () => seen.includes(id));
      const runId = `acl-run-${randomUUID().slice(0, 8)}`;
      await conn.xadd(keys.runHistory(runId), '1-0', 'e', '{}');
      await conn.set(keys.integrationState, JSON.stringify({ state: 'ACTIVE' }));
      await conn.publish(keys.integrationChannel, '{}');
      expect(await conn.eval("return redis.call('GET', KEYS[1])", 1, keys.integrationState)).toContain('ACTIVE');
      await expect(conn.flushall()).rejects.toThrow(NOPERM);
      await expect(conn.set('other-app:key', '1')).rejects.toThrow(NOPERM);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  test('gateway: registers runs, reads history, heartbeats, enqueues start_run; cannot write history, state or events', async () => {
    const conn = connect('gateway');
    const config = configFor('gateway');
    const runId = `acl-run-${randomUUID().slice(0, 8)}`;
    const reg = await registerRun(conn, keys, { runId, owner: 'alice', agent: 'demo' });
    expect(reg.created).toBe(true);
    const page = await readHistory(conn, keys, runId, 0, 10);
    expect(page.events).toEqual([]);
    const hb = new MemberHeartbeat({
      connection: conn,
      keys,
      role: 'gateway',
      id: 'gw-acl',
      intervalMs: 1000,
      ttlMs: 5000,
    });
    await hb.start();
    await hb.close();
    const runs = new Queue(config.queues.runs, { connection: conn, prefix: keys.bullPrefix });
    await runs.add('start_run', { runId });
    await runs.close();

    await expect(conn.xadd(keys.runHistory(runId), '1-0', 'e', '{}')).rejects.toThrow(NOPERM);
    await expect(conn.set(keys.integrationState, '{}')).rejects.toThrow(NOPERM);
    await expect(conn.hset(keys.memberRecords('bridge'), 'fake', '{}')).rejects.toThrow(NOPERM);
    const events = new Queue(config.queues.events, { connection: conn, prefix: keys.bullPrefix });
    events.on('error', () => undefined);
    await expect(events.add('event', { n: 1 })).rejects.toThrow(NOPERM);
    await events.close();
  });

  test('agent: registers its run and emits to the events queue; cannot touch history, state or other queues', async () => {
    const conn = connect('agent');
    const config = configFor('agent');
    const runId = `acl-run-${randomUUID().slice(0, 8)}`;
    await registerRun(conn, keys, { runId, owner: 'bob', agent: 'demo' });
    const events = new Queue(config.queues.events, { connection: conn, prefix: keys.bullPrefix });
    await events.add('event', { runId, seq: 1 }, { jobId: `${runId}-1` });
    await events.close();

    await expect(conn.xadd(keys.runHistory(runId), '1-0', 'e', '{}')).rejects.toThrow(NOPERM);
    await expect(conn.get(keys.integrationState)).rejects.toThrow(NOPERM);
    const control = new Queue(config.queues.control, { connection: conn, prefix: keys.bullPrefix });
    control.on('error', () => undefined);
    await expect(control.add('recover', {})).rejects.toThrow(NOPERM);
    await control.close();
  });

  test('ops: reads the whole status and enqueues to queues (Bull Board, recover); cannot write state or history', async () => {
    const conn = connect('ops');
    const config = configFor('ops');
    const reader = new StatusReader(config, keys, conn);
    try {
      const status = await reader.status();
      expect(status.queues.map((q) => q.name)).toEqual([
        config.queues.events,
        config.queues.control,
        config.queues.deadLetter,
        config.queues.runs,
      ]);
      const control = new Queue(config.queues.control, { connection: conn, prefix: keys.bullPrefix });
      await control.add('recover', { incidentId: 'acl' }, { jobId: `recover-acl-${randomUUID().slice(0, 8)}` });
      await control.close();
      await expect(conn.set(keys.integrationState, '{}')).rejects.toThrow(NOPERM);
      await expect(conn.xadd(keys.runHistory('x'), '1-0', 'e', '{}')).rejects.toThrow(NOPERM);
      // The chart sampler writes its own ring, and nothing else of the cluster's keys.
      const deadLetters = new DeadLetters(config, keys, conn);
      const sampler = new OpsSampler({ config, keys, conn, reader, deadLetters, logger: silentLogger() });
      try {
        expect(await sampler.sampleOnce()).toBe('written');
        expect(await sampler.ring.since(0)).toHaveLength(1);
        expect((await deadLetters.list()).total).toBeGreaterThanOrEqual(0);
      } finally {
        await sampler.close();
        await deadLetters.close();
      }
    } finally {
      await reader.close();
    }
  });
});

describe('a run belongs to whoever registered it; only the bridge writes its commit state', () => {
  // Before: gateway and agent could HSET a run's meta (owner, headSeq) and its reorder buffer, which the
  // commit script copies into the history verbatim (run takeover and event injection); the agent read
  // every run's history.
  test.each(['gateway', 'agent'] as const)(
    '%s: registers with HSETNX only; cannot overwrite, delete or expire the record, nor write the buffer',
    async (role) => {
      const conn = connect(role);
      const runId = `acl-own-${role}-${randomUUID().slice(0, 8)}`;
      const meta = keys.runMeta(runId);
      const reg = await registerRun(conn, keys, { runId, owner: 'victim', agent: 'demo' });
      expect(reg).toMatchObject({ created: true, record: { owner: 'victim', status: 'pending' } });
      await expect(registerRun(conn, keys, { runId, owner: 'mallory' })).rejects.toThrow(/another user/);
      await expect(conn.hset(meta, 'owner', 'mallory')).rejects.toThrow(NOPERM);
      await expect(conn.hset(meta, 'headSeq', '99')).rejects.toThrow(NOPERM);
      await expect(conn.hdel(meta, 'owner')).rejects.toThrow(NOPERM);
      await expect(conn.del(meta)).rejects.toThrow(NOPERM);
      await expect(conn.pexpire(meta, 1)).rejects.toThrow(NOPERM);
      await expect(conn.rename(meta, `${meta}:x`)).rejects.toThrow(NOPERM);
      await expect(conn.eval("return redis.call('HSET', KEYS[1], 'owner', 'mallory')", 1, meta)).rejects.toThrow(
        SCRIPT_NOPERM,
      );
      await expect(conn.hsetnx(keys.runPending(runId), '5', 'injected')).rejects.toThrow(NOPERM);
      await expect(conn.hset(keys.runPending(runId), '5', 'injected')).rejects.toThrow(NOPERM);
      await expect(
        conn.eval("return redis.call('HSETNX', KEYS[1], '5', 'x')", 1, keys.runPending(runId)),
      ).rejects.toThrow(SCRIPT_NOPERM);
      expect(await connect('bridge').hget(meta, 'owner')).toBe('victim');
    },
  );

  test('agent: reads no history and no buffered events of any run (HKEYS of the buffer only)', async () => {
    const bridge = connect('bridge');
    const agent = connect('agent');
    const runId = `acl-hist-${randomUUID().slice(0, 8)}`;
    await registerRun(bridge, keys, { runId, owner: 'alice' });
    await bridge.xadd(keys.runHistory(runId), '1-0', 'e', '{"secret":1}');
    await bridge.hset(keys.runPending(runId), '3', 'buffered secret');
    await expect(agent.xrange(keys.runHistory(runId), '-', '+')).rejects.toThrow(NOPERM);
    // The history read is a MULTI: its refused XRANGE aborts it.
    await expect(readHistory(agent, keys, runId, 0, 10)).rejects.toThrow(/NOPERM|EXECABORT/);
    await expect(agent.hgetall(keys.runPending(runId))).rejects.toThrow(NOPERM);
    await expect(agent.hget(keys.runPending(runId), '3')).rejects.toThrow(NOPERM);
    // What the agent SDK needs to resume a run: its head and the highest buffered seq.
    expect((await registerRun(agent, keys, { runId, owner: 'alice' })).lastKnownSeq).toBe(3);
  });

  test('gateway: cancels a run once (HSETNX), the owner stays', async () => {
    const gw = connect('gateway');
    const runId = `acl-cancel-${randomUUID().slice(0, 8)}`;
    await registerRun(gw, keys, { runId, owner: 'alice' });
    expect(await requestCancel(gw, keys, runId)).toBe(true);
    expect(await getRun(gw, keys, runId)).toMatchObject({ owner: 'alice', cancelRequested: true });
  });
});

const ROLES: readonly Role[] = ['bridge', 'gateway', 'agent', 'ops'];

describe('no role reaches the server or other applications', () => {
  // Each is refused to every role, directly and from inside a script (scripts run with the caller's rights).
  const FORBIDDEN: readonly (readonly string[])[] = [
    ['CONFIG', 'GET', 'masterauth'],
    ['CONFIG', 'SET', 'appendonly', 'no'],
    ['FUNCTION', 'FLUSH'],
    ['FUNCTION', 'LIST'],
    ['SCRIPT', 'FLUSH'],
    ['SCAN', '0'],
    ['KEYS', '*'],
    ['RANDOMKEY'],
    ['DBSIZE'],
    ['SELECT', '1'],
    ['FLUSHALL'],
    ['FLUSHDB'],
    ['CLIENT', 'KILL', 'TYPE', 'normal'],
    ['ACL', 'LIST'],
    ['PUBSUB', 'CHANNELS'],
  ];

  test.each(ROLES)('%s: server-wide commands refused (NOPERM), also from a script', async (role) => {
    const conn = connect(role);
    for (const [name, ...args] of FORBIDDEN) {
      await expect(conn.call(name!, ...args)).rejects.toThrow(NOPERM);
    }
    await expect(conn.eval("return redis.call('FLUSHALL')", 0)).rejects.toThrow(SCRIPT_NOPERM);
    await expect(conn.eval("return redis.call('SCAN', '0')", 0)).rejects.toThrow(SCRIPT_NOPERM);
  });

  test.each(ROLES)('%s: the startup check still works (INFO), CONFIG GET not needed', async (role) => {
    const report = await checkRedis(connect(role), configFor(role));
    expect(report.version).toMatch(/^\d+\.\d+/);
    expect(report.maxmemoryPolicy).not.toBeNull();
  });
});

describe('gateway user runs the Socket.IO Redis adapter', () => {
  // The adapter PSUBSCRIBEs `<key>#/#*` and Redis matches ACL channel patterns against a PSUBSCRIBE
  // pattern literally: `&ab:*` refuses it, and the gateway died at startup.
  test('two adapters under the gateway user: rooms get the bridge emitter’s events, cross-server requests work', async () => {
    const servers: Server[] = [];
    const sockets: ReturnType<typeof ioClient>[] = [];
    try {
      const urls: string[] = [];
      for (let i = 0; i < 2; i++) {
        const http = createServer();
        const io = new Server(http);
        const pub = connect('gateway', 'worker');
        const sub = connect('gateway', 'worker');
        const errors: unknown[] = [];
        pub.on('error', (e) => errors.push(e));
        sub.on('error', (e) => errors.push(e));
        io.adapter(createAdapter(pub, sub, { key: keys.socketIoKey }));
        io.on('connection', (s) => void s.join('run:acl'));
        await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
        servers.push(io);
        urls.push(`http://127.0.0.1:${(http.address() as AddressInfo).port}`);
      }
      const received: string[] = [];
      for (const url of urls) {
        const s = ioClient(url, { transports: ['websocket'], forceNew: true, reconnection: false });
        s.on('agent_event', (e: string) => received.push(`${url} ${e}`));
        sockets.push(s);
        await new Promise<void>((resolve, reject) => {
          s.on('connect', () => resolve());
          s.on('connect_error', reject);
        });
      }
      // Both servers see both sockets: request channel out, response channel back.
      await waitFor('both sockets in the room, seen across servers', async () => {
        return (await servers[0]!.in('run:acl').fetchSockets()).length === 2;
      });
      // The bridge publishes to the room the way it does for committed events.
      const emitter = new Emitter(connect('bridge'), { key: keys.socketIoKey });
      emitter.to('run:acl').emit('agent_event', 'e1');
      await waitFor('both clients receive the event', () => received.length === 2);
      expect(received.sort()).toEqual(urls.map((u) => `${u} e1`).sort());
    } finally {
      for (const s of sockets) s.disconnect();
      await Promise.all(servers.map((io) => io.close()));
    }
  });

  // Sharded Pub/Sub (Redis ≥ 7): the gateway SSUBSCRIBEs one channel per room, `<key>#/#{run:<id>}#`, plus
  // `<key>#/#` and its own response channel; ACL channel rules (`&ab:socket.io#/#*`) apply to shard
  // channels as they do to classic ones.
  test('two sharded adapters under the gateway user: rooms get a sharded publish of the bridge user, cross-server requests work; other shard channels refused', async () => {
    const servers: Server[] = [];
    const sockets: ReturnType<typeof ioClient>[] = [];
    const room = '{run:acl}';
    try {
      const urls: string[] = [];
      for (let i = 0; i < 2; i++) {
        const http = createServer();
        const io = new Server(http);
        const pub = connect('gateway', 'worker');
        const sub = connect('gateway', 'worker');
        const errors: unknown[] = [];
        pub.on('error', (e) => errors.push(e));
        sub.on('error', (e) => errors.push(e));
        io.adapter(createShardedAdapter(pub, sub, { channelPrefix: keys.socketIoKey }));
        io.on('connection', (s) => void s.join(room));
        await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
        servers.push(io);
        urls.push(`http://127.0.0.1:${(http.address() as AddressInfo).port}`);
      }
      const received: string[] = [];
      for (const url of urls) {
        const s = ioClient(url, { transports: ['websocket'], forceNew: true, reconnection: false });
        s.on('agent_event', (e: string) => received.push(`${url} ${e}`));
        sockets.push(s);
        await new Promise<void>((resolve, reject) => {
          s.on('connect', () => resolve());
          s.on('connect_error', reject);
        });
      }
      await waitFor('both sockets in the room, seen across servers', async () => {
        return (await servers[0]!.in(room).fetchSockets()).length === 2;
      });
      // The bridge user SPUBLISHes to the room's channel (here through a sharded adapter of its own).
      const bridgeIo = new Server();
      servers.push(bridgeIo);
      bridgeIo.adapter(createShardedAdapter(connect('bridge'), connect('bridge'), { channelPrefix: keys.socketIoKey }));
      bridgeIo.to(room).emit('agent_event', 'e1');
      await waitFor('both clients receive the event', () => received.length === 2);
      expect(received.sort()).toEqual(urls.map((u) => `${u} e1`).sort());
      const outsider = connect('gateway', 'worker');
      await expect(outsider.ssubscribe(`${keys.prefix}:elsewhere`)).rejects.toThrow(/NOPERM/);
      await expect(outsider.spublish(`${keys.socketIoKey}#/#${room}#`, 'x')).resolves.toBeDefined();
      outsider.disconnect();
    } finally {
      for (const s of sockets) s.disconnect();
      await Promise.all(servers.map((io) => io.close().catch(() => undefined)));
    }
  });
});
