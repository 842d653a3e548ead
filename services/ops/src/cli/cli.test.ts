import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainConfig, loadConfig } from '@agent-bridge/config';
import { type KeyLayout, type PublishedState, keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis, registerRun } from '@agent-bridge/redis';
import { type RedisServer, freePort, startRedis } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { renderConfigDoc } from './config-doc';
import { runCli } from './index';

let redis: RedisServer | undefined;
let conn: RedisConnection | undefined;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.destroy();
});

interface Run {
  code: number;
  out: string;
  err: string;
}

function cli(env: Record<string, string>) {
  return async (...argv: string[]): Promise<Run> => {
    let out = '';
    let err = '';
    const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s), env });
    return { code, out, err };
  };
}

function setup(): { env: Record<string, string>; keys: KeyLayout; run: ReturnType<typeof cli> } {
  const prefix = `c${randomUUID().slice(0, 8)}`;
  const env = {
    REDIS_URL: `redis://127.0.0.1:${redis!.port}`,
    AB_KEY_PREFIX: prefix,
    AB_OPS_PASSWORD: 'super-secret-pw',
  };
  conn = createRedis(loadConfig({ env }), 'command');
  return { env, keys: keyLayout(prefix), run: cli(env) };
}

afterEach(async () => {
  if (conn) await closeRedis(conn);
});

function publish(keys: KeyLayout, state: PublishedState['state'], checkedAgoMs = 0) {
  const now = Date.now();
  const published: PublishedState = {
    state,
    leaderId: 'b1',
    epoch: 3,
    since: now - 5000,
    reason: 'test',
    failingChecks: [],
  };
  const health = {
    state,
    checkedAt: now - checkedAgoMs,
    checks: [
      {
        name: 'gateways',
        ok: state === 'ACTIVE',
        severity: state === 'ACTIVE' ? 'ok' : 'warn',
        latencyMs: 2,
        detail: '1 alive',
      },
    ],
    leader: { leaderId: 'b1', epoch: 3, leaseRemainingMs: 2000 },
    queues: [],
    replicas: [],
    gateways: [],
  };
  return conn!
    .multi()
    .set(keys.integrationState, JSON.stringify(published))
    .set(keys.integrationHealth, JSON.stringify(health))
    .hset(keys.leader, 'id', 'b1', 'epoch', '3', 'token', 'x')
    .pexpire(keys.leader, 3000)
    .exec();
}

describe('agent-bridge CLI', () => {
  test('status: human table and --json (same data), exit 0', async () => {
    const { keys, run } = setup();
    await publish(keys, 'ACTIVE');
    const human = await run('status');
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/^integration {2}ACTIVE/m);
    expect(human.out).toMatch(/^leader {7}b1 {2}epoch 3/m);
    const json = await run('status', '--json');
    expect(json.code).toBe(0);
    const s = JSON.parse(json.out) as { integration: PublishedState; leader: { id: string; epoch: number } };
    expect(s.integration.state).toBe('ACTIVE');
    expect(s.leader).toMatchObject({ id: 'b1', epoch: 3 });
    // --json is a program option: accepted before the command too.
    expect(JSON.parse((await run('--json', 'status')).out)).toMatchObject({ leader: { id: 'b1' } });
  });

  test('health: exit 0 ACTIVE, 2 DEGRADED, 1 FAILED, 1 when the last check is stale or missing', async () => {
    const { keys, run } = setup();
    expect((await run('health')).code).toBe(1);
    await publish(keys, 'ACTIVE');
    const ok = await run('health');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^gateways +OK +2 ms +1 alive$/m);
    await publish(keys, 'DEGRADED');
    const degraded = await run('health', '--json');
    expect(degraded.code).toBe(2);
    expect(JSON.parse(degraded.out)).toMatchObject({ ok: false, state: 'DEGRADED', stale: false });
    await publish(keys, 'FAILED');
    expect((await run('health')).code).toBe(1);
    await publish(keys, 'ACTIVE', 60_000);
    const stale = await run('health', '--max-age', '10000', '--json');
    expect(stale.code).toBe(1);
    expect(JSON.parse(stale.out)).toMatchObject({ state: 'ACTIVE', stale: true });
  });

  test('recover: enqueues one recovery job per incident on the control queue (a second request is not added twice)', async () => {
    const { keys, run, env } = setup();
    await publish(keys, 'DEGRADED');
    const first = await run('recover', '--json', '--reason', 'test incident');
    expect(first.code).toBe(0);
    const res = JSON.parse(first.out) as { incidentId: string; jobId: string; enqueued: boolean; stateBefore: string };
    const since = (JSON.parse((await conn!.get(keys.integrationState))!) as PublishedState).since;
    expect(res).toMatchObject({
      incidentId: `degraded-${since}`,
      jobId: `recover-degraded-${since}`,
      enqueued: true,
    });
    const second = await run('recover');
    expect(second.code).toBe(0);
    expect(second.out).toContain(`recovery already in flight for incident degraded-${since}`);
    const config = loadConfig({ env });
    const control = new Queue(config.queues.control, { connection: conn!, prefix: keys.bullPrefix });
    const jobs = await control.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.map((j) => [j.id, j.name, (j.data as { reason: string }).reason, j.opts.attempts])).toEqual([
      [res.jobId, 'recover', 'test incident', config.recovery.attempts],
    ]);
    await control.close();
  });

  test('runs [--user] and replay <runId> [--after N], both output forms', async () => {
    const { keys, run } = setup();
    await registerRun(conn!, keys, { runId: 'run-a', owner: 'alice', agent: 'demo' });
    await registerRun(conn!, keys, { runId: 'run-b', owner: 'bob', agent: 'demo' });
    for (let seq = 1; seq <= 5; seq++) {
      const e = {
        id: `e${seq}`,
        runId: 'run-a',
        seq,
        epoch: 1,
        type: 'agent_thinking',
        ts: 1_700_000_000_000 + seq,
        payload: { delta: `d${seq}` },
      };
      await conn!.xadd(keys.runHistory('run-a'), `${seq}-0`, 'e', JSON.stringify(e));
    }
    await conn!.hset(keys.runMeta('run-a'), 'headSeq', '5', 'epoch', '1');

    const all = await run('runs');
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^run-a +alice +demo/m);
    expect(all.out).toMatch(/^run-b +bob +demo/m);
    const bob = JSON.parse((await run('runs', '--user', 'bob', '--json')).out) as { runs: { runId: string }[] };
    expect(bob.runs.map((r) => r.runId)).toEqual(['run-b']);

    const replay = await run('replay', 'run-a', '--after', '2');
    expect(replay.code).toBe(0);
    expect(replay.out.match(/^ +\d+ /gm)?.map((s) => Number(s))).toEqual([3, 4, 5]);
    expect(replay.out).toContain('3 event(s)');
    const json = JSON.parse((await run('replay', 'run-a', '--json')).out) as {
      events: { seq: number; id: string }[];
      headSeq: number;
      recovered: boolean;
    };
    expect(json.events.map((e) => e.id)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(json.headSeq).toBe(5);
    expect(json.recovered).toBe(true);

    const missing = await run('replay', 'no-such-run');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('run no-such-run not found');
  });

  test('config: effective config with secrets redacted; --explain lists every key; invalid config exits 1 naming the key', async () => {
    const { env, run } = setup();
    const human = await run('config');
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/^ops\.password +\*\*\*$/m);
    expect(human.out).not.toContain('super-secret-pw');
    const json = JSON.parse((await run('config', '--json')).out) as { ops: { password: string }; keyPrefix: string };
    expect(json.ops.password).toBe('***');
    expect(json.keyPrefix).toBe(env.AB_KEY_PREFIX);

    const explained = JSON.parse((await run('config', '--explain', '--json')).out) as { env: string }[];
    expect(explained.map((r) => r.env)).toEqual(explainConfig().map((r) => r.env));
    const table = await run('config', '--explain');
    for (const row of explainConfig()) expect(table.out).toContain(row.env);

    const bad = await cli({ ...env, AB_OPS_REFRESH_MS: 'soon' })('config');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('AB_OPS_REFRESH_MS');
  });

  test('commands that need Redis exit 1 with a clear message when it is unreachable', async () => {
    const port = await freePort();
    const res = await cli({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CONNECT_TIMEOUT_MS: '500' })('status');
    expect(res.code).toBe(1);
    expect(res.err).toContain(`cannot connect to Redis (redis://127.0.0.1:${port})`);
  });

  test('docs/configuration.md is up to date with the config schema (npm run docs:config)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'configuration.md'), 'utf8');
    expect(committed).toBe(renderConfigDoc());
  });
});
