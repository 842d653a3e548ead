import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisServer, startRedis, waitFor } from '@agent-bridge/testing';
import { CLI_UP, NpmStart, commandLine, descendants, isAlive, portFlags } from './npm-start';

// `agent-bridge up`: the launcher behind `npm start`, as a CLI command with flags.

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  delete env.REDIS_URL;
  return env;
}

describe('agent-bridge up', () => {
  let stateDir: string;
  const started: NpmStart[] = [];

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'ab-up-'));
  });
  afterEach(() => {
    for (const s of started.splice(0)) s.killAll();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('--replicas 1 --gateways 1 with REDIS_URL: uses that Redis, starts exactly those processes, SIGTERM stops them all', async () => {
    let redis: RedisServer | null = null;
    try {
      redis = await startRedis();
      const up = new NpmStart(
        ['--replicas', '1', '--gateways', '1', '--no-demo-agent', '--state-dir', stateDir, ...(await portFlags())],
        { ...baseEnv(), REDIS_URL: redis.url, AB_KEY_PREFIX: `up-${Date.now()}` },
        false,
        CLI_UP,
      );
      started.push(up);
      await up.waitForOutput(/Press Ctrl-C to stop everything/, 180_000);
      expect(up.output).toContain('using the Redis at REDIS_URL');
      expect(up.output).toContain('1 bridge replica(s), 1 gateway(s), ops');
      expect(up.output).not.toContain('embedded');
      expect([...up.reportedPids().keys()].sort()).toEqual(['bridge-1', 'gateway-1', 'ops']);
      const pids = [...up.reportedPids().values(), ...descendants(up.pid)];
      up.child.kill('SIGTERM');
      expect(await up.exited).toEqual({ code: 0, signal: null });
      await waitFor('every process to be gone', () => !pids.some(isAlive), { timeoutMs: 30_000 });
      expect(up.output).toContain('stopped; no process left behind');
      // The Redis it was given is not its to stop.
      expect(redis.running).toBe(true);
    } finally {
      await redis?.destroy();
    }
  }, 240_000);

  it('a launcher killed with SIGKILL leaves its children; the next one with the same state folder stops them first', async () => {
    const args = [
      '--replicas',
      '1',
      '--gateways',
      '1',
      '--no-demo-agent',
      '--state-dir',
      stateDir,
      ...(await portFlags()),
    ];
    const first = new NpmStart(args, baseEnv(), false, CLI_UP);
    started.push(first);
    await first.waitForOutput(/Press Ctrl-C to stop everything/, 180_000);
    const orphans = [...first.reportedPids().entries()];
    expect(orphans.map(([name]) => name).sort()).toEqual(['bridge-1', 'gateway-1', 'ops', 'redis']);
    // Only the launcher dies: its children run in their own process groups and outlive it.
    first.child.kill('SIGKILL');
    await first.exited;
    const redisPid = first.reportedPids().get('redis') as number;
    expect(isAlive(redisPid)).toBe(true);
    expect(commandLine(redisPid)).toMatch(/^redis-server 127\.0\.0\.1:\d+/);

    const second = new NpmStart(args, baseEnv(), false, CLI_UP);
    started.push(second);
    await second.waitForOutput(/Press Ctrl-C to stop everything/, 180_000);
    expect(second.output).toMatch(/stopped processes a killed launcher left behind: .*redis \(pid \d+\)/);
    for (const [name, pid] of orphans) expect(`${name} ${String(isAlive(pid))}`).toBe(`${name} false`);
    const pids = [...second.reportedPids().values(), ...descendants(second.pid)];
    second.child.kill('SIGINT');
    await second.exited;
    await waitFor('every process to be gone', () => !pids.some(isAlive), { timeoutMs: 30_000 });
  }, 360_000);
});
