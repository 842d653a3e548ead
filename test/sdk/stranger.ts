// A project outside the workspace, as a stranger adopting agent-bridge makes it: the SDK tarballs from
// `npm pack`, installed with plain `npm install ./x.tgz` (npm's cache; the npm registry for anything else),
// compiled with its own TypeScript, run with plain `node`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const EXAMPLES = join(ROOT, 'examples');

/** The version of a package installed in the workspace (so the stranger's install hits npm's cache). */
function workspaceVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/**
 * A clean environment: what a shell of a new user has, without the workspace's npm settings (`npm_config_*`
 * of the npm that started Jest, which could point npm at the workspace).
 */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'npm_config_cache']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, FORCE_COLOR: '0', ...extra };
}

async function sh(cmd: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, env: cleanEnv(), timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

export interface StrangerProject {
  /** The project folder (under the OS temp dir). */
  dir: string;
  /** The tarballs `npm pack` made (file names). */
  tarballs: string[];
  remove(): void;
}

/**
 * Packs the agent SDK and the client (their `prepack` builds them), then makes a project under the OS temp
 * dir holding the minimal-agent example (agent.ts, watch.ts) and the watcher-page example (page/), and
 * installs the tarballs, TypeScript, @types/node and Vite there.
 */
export async function makeStrangerProject(): Promise<StrangerProject> {
  const base = mkdtempSync(join(tmpdir(), 'agent-bridge-stranger-'));
  const packs = join(base, 'tarballs');
  mkdirSync(packs);
  await sh(
    'npm',
    ['pack', '--pack-destination', packs, '-w', '@agent-bridge/agent-sdk', '-w', '@agent-bridge/client'],
    ROOT,
  );
  const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz'));

  const dir = join(base, 'project');
  cpSync(join(EXAMPLES, 'minimal-agent'), dir, { recursive: true, filter: (src) => !src.includes('node_modules') });
  cpSync(join(EXAMPLES, 'watcher-page'), join(dir, 'page'), {
    recursive: true,
    filter: (src) => !src.includes('node_modules') && !src.endsWith('package.json'),
  });
  // The example's own package.json names the registry versions; the stranger here has the tarballs instead.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'stranger', private: true, type: 'module' }));
  await sh(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      ...tarballs.map((t) => join(packs, t)),
      `typescript@${workspaceVersion('typescript')}`,
      `@types/node@${workspaceVersion('@types/node')}`,
      `vite@${workspaceVersion('vite')}`,
    ],
    dir,
    480_000,
  );
  return { dir, tarballs, remove: () => rmSync(base, { recursive: true, force: true }) };
}

/** Runs a command in the project and returns its stdout (throws with its output on failure). */
export function inProject(project: StrangerProject, cmd: string, args: string[], cwd = project.dir): Promise<string> {
  return sh(cmd, args, cwd);
}

/** A `node` child process in the project with a clean environment plus `env`; its stdout is collected. */
export class NodeChild {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(project: StrangerProject, script: string, env: Record<string, string>, args: string[] = []) {
    this.child = spawn(process.execPath, [script, ...args], { cwd: project.dir, env: cleanEnv(env) });
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  lines(): string[] {
    return this.stdout.split('\n').filter((l) => l.trim() !== '');
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
