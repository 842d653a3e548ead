import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NpmStart } from './npm-start';

describe('npm start without Redis', () => {
  let bin: string;
  beforeAll(() => {
    // A PATH with node, npm and sh only: redis-server is not on it.
    bin = mkdtempSync(join(tmpdir(), 'ab-nobin-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const npm = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
    symlinkSync(npm, join(bin, 'npm'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('exits non-zero with the install hint when redis-server is not on PATH and REDIS_URL is not set', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin };
    delete env.REDIS_URL;
    const run = new NpmStart(['--state-dir', join(bin, 'state')], env);
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    expect(code).toBe(1);
    expect(run.output).toContain('redis-server was not found on PATH, and REDIS_URL is not set.');
    expect(run.output).toContain('sudo apt-get install -y redis-server');
    expect(run.output).toContain('REDIS_URL=redis://host:6379 npm start');
    // Nothing else was started.
    expect(run.reportedPids().size).toBe(0);
  }, 120_000);
});
