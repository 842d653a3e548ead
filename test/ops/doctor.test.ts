// `agent-bridge doctor` as an operator runs it (the CLI as a process): against a Redis that evicts keys and
// keeps no append-only file it names both problems with their fix and exits 1; against a running cluster on
// a Redis with noeviction and AOF it finds no problem and exits 0.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type RedisServer, startRedis, waitFor } from '@agent-bridge/testing';
import { E2ECluster, ROOT } from '../e2e/harness';

const run = promisify(execFile);
const CLI = join(ROOT, 'services/ops/src/cli/main.ts');

async function doctor(env: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      ['--conditions=@agent-bridge/source', '--import', 'tsx', CLI, 'doctor', ...args],
      { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: 'silent', FORCE_COLOR: '0' } },
    );
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

let badRedis: RedisServer | undefined;
let cluster: E2ECluster | undefined;

afterAll(async () => {
  await badRedis?.destroy();
  await cluster?.stop();
});

test('a Redis with allkeys-lru and no AOF: both named with their fix, exit 1', async () => {
  badRedis = await startRedis({ appendOnly: false, args: ['--maxmemory-policy', 'allkeys-lru'] });
  const { code, out } = await doctor({ REDIS_URL: badRedis.url, AB_KEY_PREFIX: `doc-${randomUUID().slice(0, 8)}` });
  process.stdout.write(`sample doctor output (allkeys-lru, no AOF):\n${out}`);
  expect(code).toBe(1);
  expect(out).toMatch(/FAIL\s+maxmemory-policy\s+allkeys-lru/);
  expect(out).toMatch(/fix: CONFIG SET maxmemory-policy noeviction/);
  expect(out).toMatch(/FAIL\s+persistence \(AOF\)\s+append-only file off/);
  expect(out).toMatch(/fix: CONFIG SET appendonly yes/);
  // Nothing runs there either: it says so rather than passing over it.
  expect(out).toMatch(/FAIL\s+bridges registered\s+none heartbeating/);
  expect(out).toMatch(/\d+ problem\(s\)/);

  const json = JSON.parse((await doctor({ REDIS_URL: badRedis.url }, '--json')).out) as {
    findings: { check: string; level: string }[];
  };
  const failed = json.findings.filter((f) => f.level === 'fail').map((f) => f.check);
  expect(failed).toEqual(expect.arrayContaining(['maxmemory-policy', 'persistence (AOF)']));
}, 60_000);

test('a running cluster on a Redis with noeviction and AOF: no problem, exit 0', async () => {
  cluster = await E2ECluster.start({ bridges: 1, gateways: 1, redis: { appendOnly: true } });
  // The leader publishes ACTIVE after its first health check.
  const result = await waitFor(
    'doctor to pass',
    async () => {
      const r = await doctor(cluster!.env);
      return r.code === 0 ? r : null;
    },
    { timeoutMs: 90_000, intervalMs: 1_000 },
  );
  expect(result.out).not.toMatch(/FAIL/);
  expect(result.out).toMatch(/ok\s+maxmemory-policy\s+noeviction/);
  expect(result.out).toMatch(/ok\s+persistence \(AOF\)\s+appendonly yes/);
  expect(result.out).toMatch(/ok\s+integration state\s+ACTIVE/);
  expect(result.out).toMatch(/ok\s+bridges registered\s+1 alive/);
  process.stdout.write(`sample doctor output (healthy):\n${result.out}`);
}, 240_000);
