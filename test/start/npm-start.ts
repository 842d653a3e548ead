import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '@agent-bridge/testing';

/** Root of the repository. */
export const REPO_ROOT = join(__dirname, '..', '..');

/** Parent pid of `pid` from /proc, or null when it is gone. */
function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: ppid is the 2nd field after ")".
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(after[1]);
  } catch {
    return null;
  }
}

/** Whether `pid` is a live process (a zombie is not: it has exited and waits to be reaped). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Every live descendant of `root` (children, grandchildren, ...), from /proc. */
export function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentOf(Number(name));
    if (ppid !== null) parents.set(Number(name), ppid);
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out.filter(isAlive);
}

/** Command line of a process ('' when gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** `agent-bridge up` from source (the CLI of services/ops). */
export const CLI_UP = [
  process.execPath,
  '--conditions=@agent-bridge/source',
  '--import',
  'tsx',
  join(REPO_ROOT, 'services', 'ops', 'src', 'cli', 'main.ts'),
  'up',
];

/**
 * `npm start` as a user runs it in a terminal: its own process group (so `interrupt()` is a Ctrl-C that
 * reaches npm, scripts/start.mjs and the launcher at once), output captured.
 */
export class NpmStart {
  private out = '';
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /**
   * `npm start -- <args>` by default; `command` runs something else the same way (e.g. the CLI's `up`).
   */
  constructor(args: string[], env: NodeJS.ProcessEnv, echo = false, command: string[] = ['npm', 'start', '--']) {
    const [bin, ...pre] = command as [string, ...string[]];
    this.child = spawn(bin, [...pre, ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const onData = (d: Buffer): void => {
      this.out += d.toString();
      if (echo) process.stderr.write(d.toString());
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get output(): string {
    return this.out;
  }

  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return waitFor(
      `npm start to print ${String(pattern)}`,
      () => {
        const m = this.out.match(pattern);
        if (!m && this.child.exitCode !== null) {
          throw new Error(`npm start exited with ${this.child.exitCode}:\n${this.out.slice(-5000)}`);
        }
        return m;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  /** Ctrl-C: SIGINT to the whole foreground process group. */
  interrupt(): void {
    process.kill(-this.pid, 'SIGINT');
  }

  /** Pids the launcher reported (`<name> started (pid N` and `redis ready (pid N)`), by name. */
  reportedPids(): Map<string, number> {
    const pids = new Map<string, number>();
    for (const m of this.out.matchAll(/\|\s(\S+) started \(pid (\d+)/g)) pids.set(m[1] as string, Number(m[2]));
    const redis = /redis ready \(pid (\d+)\)/.exec(this.out);
    if (redis) pids.set('redis', Number(redis[1]));
    return pids;
  }

  /** Ports the launcher reported, by name. */
  reportedPorts(): Map<string, number> {
    const ports = new Map<string, number>();
    for (const m of this.out.matchAll(/\|\s(\S+) started \(pid \d+, port (\d+)\)/g)) {
      ports.set(m[1] as string, Number(m[2]));
    }
    return ports;
  }

  /** Last resort for a failed test: kill the group and every descendant. */
  killAll(): void {
    for (const pid of [...descendants(this.pid), ...this.reportedPids().values()]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Launcher flags with random first ports, so a test's cluster never races another one (or a developer's
 * `npm start` on 8080) for the same ports.
 */
export async function portFlags(): Promise<string[]> {
  return [
    '--gateway-port',
    String(await freePort(50_000)),
    '--ops-port',
    String(await freePort(50_000)),
    '--bridge-port',
    String(await freePort(50_000)),
    '--redis-port',
    String(await freePort(50_000)),
  ];
}
