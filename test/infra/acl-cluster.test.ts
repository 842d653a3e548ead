// The whole cluster under least-privilege Redis users (issue 10): infra/redis/users.acl rendered by
// infra/redis/render-acl.sh for this test's key prefix, loaded into this test's own redis-server; two
// bridges, two gateways, ops and the demo agent as real processes, each logged in as its role's user; an
// agent in this process through the agent SDK (agent user); browsers through the client SDK. Runs stream
// end to end, then each role's user is shown what it must not reach, and the runs are still intact.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { signToken } from '@agent-bridge/auth';
import { type BridgeClient, connect } from '@agent-bridge/client';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type EventEnvelope, keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis, getRun, registerRun } from '@agent-bridge/redis';
import { type RedisServer, ServiceProcess, startRedis, waitFor } from '@agent-bridge/testing';
import { Received } from '../e2e/harness';

jest.setTimeout(90_000);

const ROOT = join(__dirname, '..', '..');
const ROLES = ['bridge', 'gateway', 'agent', 'ops'] as const;
type Role = (typeof ROLES)[number];
const PASSWORDS = Object.fromEntries(ROLES.map((r) => [r, randomBytes(20).toString('hex')])) as Record<Role, string>;
// A prefix of its own: the rules of users.acl are written for `ab` and rendered for it.
const PREFIX = `acl${randomUUID().slice(0, 6)}`;
const keys = keyLayout(PREFIX);
const JWT_SECRET = randomBytes(32).toString('hex');
const OPS_PASSWORD = randomBytes(12).toString('hex');

let redis: RedisServer | undefined;
const processes: ServiceProcess[] = [];
const conns: RedisConnection[] = [];
const clients: BridgeClient[] = [];
let publisher: AgentPublisher | undefined;
let gatewayUrls: string[] = [];
let opsUrl = '';

function renderAcl(): string {
  const out = join(mkdtempSync(join(tmpdir(), 'ab-acl-cluster-')), 'users.acl');
  execFileSync('sh', [join(ROOT, 'infra/redis/render-acl.sh'), join(ROOT, 'infra/redis/users.acl'), out], {
    env: {
      PATH: process.env['PATH'],
      AB_KEY_PREFIX: PREFIX,
      ...Object.fromEntries(ROLES.map((r) => [`AB_REDIS_${r.toUpperCase()}_PASSWORD`, PASSWORDS[r]])),
    },
  });
  return out;
}

const urlOf = (role: Role): string => `redis://${role}:${PASSWORDS[role]}@127.0.0.1:${redis!.port}`;

/** Environment of a service process: its own Redis user, nothing inherited from the developer's shell. */
function envOf(role: Role, extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const key of Object.keys(process.env)) if (/^(AB_|REDIS_|OTEL_|NODE_ENV$|PORT$)/.test(key)) env[key] = undefined;
  return {
    ...env,
    REDIS_URL: urlOf(role),
    AB_KEY_PREFIX: PREFIX,
    AB_JWT_SECRET: JWT_SECRET,
    AB_OPS_PASSWORD: OPS_PASSWORD,
    AB_HEARTBEAT_INTERVAL_MS: '500',
    AB_HEARTBEAT_TTL_MS: '3000',
    AB_DEMO_AGENT_PACE_MS: '5',
    PORT: '0',
    LOG_LEVEL: 'info',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_TRACES_EXPORTER: 'none',
    ...extra,
  };
}

async function start(name: string, entry: string, role: Role, ready: RegExp): Promise<RegExpMatchArray> {
  const p = ServiceProcess.start({ name, entry: join(ROOT, entry), env: envOf(role, { AB_INSTANCE_ID: name }) });
  processes.push(p);
  return p.waitForOutput(ready, 60_000);
}

function configOf(role: Role): AppConfig {
  return loadConfig({
    env: {},
    overrides: { REDIS_URL: urlOf(role), AB_KEY_PREFIX: PREFIX, AB_JWT_SECRET: JWT_SECRET },
  });
}

function connectAs(role: Role): RedisConnection {
  const conn = createRedis(configOf(role), 'command', { name: `acl-cluster-${role}` });
  conns.push(conn);
  return conn;
}

function client(userId: string, first = 0): BridgeClient {
  const urls = [...gatewayUrls.slice(first), ...gatewayUrls.slice(0, first)];
  const c = connect(urls, { token: () => signToken(userId, configOf('gateway').auth), reconnectDelayMs: 50 });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  redis = await startRedis({ args: ['--aclfile', renderAcl()] });
  const [, , g1, g2, ops] = await Promise.all([
    start('bridge-1', 'services/bridge/src/main.ts', 'bridge', /bridge ready/),
    start('bridge-2', 'services/bridge/src/main.ts', 'bridge', /bridge ready/),
    start('gateway-1', 'services/gateway/src/main.ts', 'gateway', /gateway ready on port (\d+)/),
    start('gateway-2', 'services/gateway/src/main.ts', 'gateway', /gateway ready on port (\d+)/),
    start('ops', 'services/ops/src/main.ts', 'ops', /ops ready on port (\d+)/),
    start('demo-agent', 'services/demo-agent/src/main.ts', 'agent', /demo-agent ready/),
  ]);
  gatewayUrls = [g1, g2].map((m) => `http://127.0.0.1:${m[1]!}`);
  opsUrl = `http://127.0.0.1:${ops[1]!}`;
  publisher = await AgentPublisher.create({ config: configOf('agent') });
  const bridge = connectAs('bridge');
  await waitFor('integration ACTIVE', async () => (await bridge.get(keys.integrationState))?.includes('"ACTIVE"'), {
    timeoutMs: 60_000,
  });
}, 90_000);

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await publisher?.close();
  await Promise.all(conns.map((c) => closeRedis(c)));
  await Promise.all(processes.map((p) => p.kill()));
  await redis?.destroy();
});

const streamed: { runId: string; owner: string; ids: string[] }[] = [];

describe('the cluster works under its own users', () => {
  test('agent SDK → bridges → gateways → client SDK: 12 runs × 25 events, each subscriber gets its run exactly once, in order', async () => {
    const received = new Received();
    const expected = new Map<string, string[]>();
    const runs = Array.from({ length: 12 }, (_, i) => ({ runId: `acl-run-${i}`, owner: `user-${i % 3}` }));
    const handles = await Promise.all(
      runs.map((r) => publisher!.startRun({ runId: r.runId, userId: r.owner, agent: 'acl-test' })),
    );
    await Promise.all(runs.map((r, i) => client(r.owner, i % 2).subscribe(r.runId, received.handler(r.runId)).ready));
    for (const [i, h] of handles.entries()) {
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, n) => h.emit('agent_thinking', { delta: `run ${i} event ${n}` })),
      );
      expected.set(
        h.runId,
        results.map((r) => r.id),
      );
    }
    await waitFor('300 deliveries', () => received.total >= 300, { timeoutMs: 60_000 });
    expect(received.mismatches(expected)).toEqual([]);
    for (const r of runs) streamed.push({ ...r, ids: expected.get(r.runId)! });
    for (const h of handles) h.close();
  });

  test('start_run through a gateway: the demo agent (agent user) runs it and the client streams it to the end', async () => {
    const c = client('dora', 1);
    await c.waitConnected();
    const runId = await c.startRun('what is 6 times 7?');
    const events: EventEnvelope[] = [];
    c.subscribe(runId, (e) => events.push(e));
    await waitFor('agent_completed', () => events.some((e) => e.type === 'agent_completed'), { timeoutMs: 60_000 });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(await getRun(connectAs('gateway'), keys, runId)).toMatchObject({ owner: 'dora', status: 'completed' });
  });

  test('ops (ops user): the status API shows both bridges, both gateways and the ACTIVE state', async () => {
    const res = await fetch(`${opsUrl}/api/status`, {
      headers: { authorization: `Basic ${Buffer.from(`ops:${OPS_PASSWORD}`).toString('base64')}` },
    });
    expect(res.status).toBe(200);
    const status = (await res.json()) as { integration: { state: string }; replicas: unknown[]; gateways: unknown[] };
    expect(status.integration.state).toBe('ACTIVE');
    expect(status.replicas).toHaveLength(2);
    expect(status.gateways).toHaveLength(2);
  });
});

describe('what each user must not reach', () => {
  const FORBIDDEN: readonly (readonly string[])[] = [
    ['CONFIG', 'GET', '*'],
    ['FUNCTION', 'FLUSH'],
    ['SCRIPT', 'FLUSH'],
    ['SCAN', '0'],
    ['KEYS', '*'],
    ['SELECT', '1'],
    ['FLUSHALL'],
  ];

  test.each(ROLES)(
    '%s: CONFIG GET, FUNCTION FLUSH, SCRIPT FLUSH, SCAN, KEYS, SELECT, FLUSHALL refused',
    async (role) => {
      const conn = connectAs(role);
      for (const [name, ...args] of FORBIDDEN) await expect(conn.call(name!, ...args)).rejects.toThrow(/NOPERM/);
    },
  );

  test('agent: no other run’s history or buffered events', async () => {
    const agent = connectAs('agent');
    const { runId } = streamed[0]!;
    await expect(agent.xrange(keys.runHistory(runId), '-', '+')).rejects.toThrow(/NOPERM/);
    await expect(agent.hgetall(keys.runPending(runId))).rejects.toThrow(/NOPERM/);
  });

  test.each(['gateway', 'agent'] as const)(
    '%s: cannot take over a run (owner) nor inject into its reorder buffer or history',
    async (role) => {
      const conn = connectAs(role);
      const { runId } = streamed[1]!;
      await expect(conn.hset(keys.runMeta(runId), 'owner', 'mallory')).rejects.toThrow(/NOPERM/);
      await expect(conn.del(keys.runMeta(runId))).rejects.toThrow(/NOPERM/);
      await expect(conn.pexpire(keys.runMeta(runId), 1)).rejects.toThrow(/NOPERM/);
      await expect(registerRun(conn, keys, { runId, owner: 'mallory' })).rejects.toThrow(/another user/);
      await expect(conn.hsetnx(keys.runPending(runId), '26', '{"id":"x"}')).rejects.toThrow(/NOPERM/);
      await expect(conn.xadd(keys.runHistory(runId), '26-0', 'e', '{}')).rejects.toThrow(/NOPERM/);
    },
  );

  test('ops: reads everything, writes no run and no state', async () => {
    const ops = connectAs('ops');
    const { runId } = streamed[2]!;
    await expect(ops.hset(keys.runMeta(runId), 'owner', 'mallory')).rejects.toThrow(/NOPERM/);
    await expect(ops.set(keys.integrationState, '{}')).rejects.toThrow(/NOPERM/);
    await expect(ops.publish(keys.socketIoKey + '#/#', 'x')).rejects.toThrow(/NOPERM/);
  });

  test('after all of it every run is intact: same owner, a late subscriber replays exactly what was emitted', async () => {
    const gateway = connectAs('gateway');
    const received = new Received();
    for (const r of streamed) {
      expect(await getRun(gateway, keys, r.runId)).toMatchObject({ owner: r.owner, headSeq: 25 });
      await client(r.owner).subscribe(r.runId, received.handler(r.runId)).ready;
    }
    await waitFor('replayed', () => received.total >= 300, { timeoutMs: 30_000 });
    expect(received.mismatches(new Map(streamed.map((r) => [r.runId, r.ids])))).toEqual([]);
  });
});
