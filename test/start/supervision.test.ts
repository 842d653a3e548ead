import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@agent-bridge/testing';
import { CLI_UP, NpmStart, descendants, isAlive, portFlags } from './npm-start';

// Guarantee 9.2: the launcher supervises what it started. A child or the embedded redis-server that dies
// after ready is reported and restarted with backoff; one that keeps dying makes it give up loudly, stop
// everything and exit non-zero.

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  delete env.REDIS_URL;
  return env;
}

const restartedPid = (out: string, name: string): number | null => {
  const all = [...out.matchAll(new RegExp(`${name} restarted \\(pid (\\d+)`, 'g'))];
  return all.length > 0 ? Number(all[all.length - 1]![1]) : null;
};

function listen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    // Every connection to it (the services keep trying to reach Redis) is dropped at once.
    const srv = createServer((socket) => socket.destroy());
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

describe('launcher supervision (guarantee 9.2, `agent-bridge up` with an embedded Redis)', () => {
  let stateDir: string;
  const started: NpmStart[] = [];
  let blocker: Server | null = null;

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'ab-sup-'));
  });
  afterEach(async () => {
    // (A killed launcher's children are killed here too.)
    for (const s of started.splice(0)) s.killAll();
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
    blocker = null;
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('SIGKILL of a gateway and of redis-server after ready: each is reported and restarted; SIGKILL of redis-server while its port is taken: gives up after the tries, stops everything, exit 1', async () => {
    const flags = await portFlags();
    const redisPort = Number(flags[flags.indexOf('--redis-port') + 1]);
    const up = new NpmStart(
      [
        '--replicas',
        '1',
        '--gateways',
        '1',
        '--no-demo-agent',
        '--state-dir',
        stateDir,
        '--restart-delay-ms',
        '300',
        '--max-restarts',
        '2',
        ...flags,
      ],
      baseEnv(),
      false,
      CLI_UP,
    );
    started.push(up);
    await up.waitForOutput(/Press Ctrl-C to stop everything/, 180_000);
    const pids = up.reportedPids();

    // A child that crashes after ready.
    const gateway = pids.get('gateway-1')!;
    process.kill(gateway, 'SIGKILL');
    await up.waitForOutput(/gateway-1 restarted \(pid \d+/, 120_000);
    expect(up.output).toContain(`gateway-1 died (pid ${gateway}, killed by SIGKILL)`);
    expect(up.output).toMatch(/restarting gateway-1 in 300 ms \(try 1 of 2\)/);
    const newGateway = restartedPid(up.output, 'gateway-1')!;
    expect(newGateway).not.toBe(gateway);
    expect(isAlive(newGateway)).toBe(true);

    // The embedded Redis: same port, same data folder.
    const redis = pids.get('redis')!;
    process.kill(redis, 'SIGKILL');
    await up.waitForOutput(/redis restarted \(pid \d+/, 60_000);
    expect(up.output).toContain(`redis died (pid ${redis}, killed by SIGKILL)`);
    const newRedis = restartedPid(up.output, 'redis')!;
    expect(isAlive(newRedis)).toBe(true);
    expect(newRedis).not.toBe(redis);
    const everything = [...up.reportedPids().values(), newGateway, newRedis, ...descendants(up.pid)];

    // Redis dies again within the stable window (try 2 of 2) and cannot come back (its port is taken): the
    // launcher gives up.
    process.kill(newRedis, 'SIGKILL');
    await waitFor('the redis port to be taken by the test', async () => (blocker = await listen(redisPort)) !== null, {
      timeoutMs: 10_000,
      intervalMs: 5,
    });
    expect(await up.exited).toEqual({ code: 1, signal: null });
    expect(up.output).toMatch(/restarting redis in 600 ms \(try 2 of 2\)/);
    expect(up.output).toMatch(/restart 2 of redis failed: redis-server exited during start: .*Address already in use/);
    expect(up.output).toMatch(
      /GAVE UP: redis kept dying: gave up after 2 restart tries \(last: .*Address already in use/,
    );
    expect(up.output).toMatch(/agent-bridge gave up: redis kept dying/);
    expect(up.output).toContain('stopped; no process left behind');
    await waitFor('every process to be gone', () => !everything.some(isAlive), { timeoutMs: 30_000 });
  }, 360_000);
});
