import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from './ports';

export interface ServiceProcessOptions {
  /** TypeScript entry file (absolute path), run from source through tsx. */
  entry: string;
  /** Extra environment (merged over the parent's). */
  env?: Record<string, string | undefined>;
  /** Name shown in logs and errors. */
  name?: string;
  /** Print the child's output as it comes (for debugging a test). @defaultValue false */
  echo?: boolean;
  /** Extra Node.js flags before the entry (e.g. `--cpu-prof`). @defaultValue [] */
  nodeArgs?: string[];
}

const live = new Set<ServiceProcess>();
let exitHookInstalled = false;

/**
 * A service (bridge, gateway, ...) as a real child process, so tests can SIGKILL, SIGSTOP and SIGTERM it.
 * Its output is kept; `waitForOutput` waits for a line, `exited` resolves with the exit code/signal.
 */
export class ServiceProcess {
  readonly name: string;
  private output = '';
  private readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(options: ServiceProcessOptions) {
    this.name = options.name ?? options.entry;
    this.child = spawn(
      process.execPath,
      [...(options.nodeArgs ?? []), '--conditions=@agent-bridge/source', '--import', 'tsx', options.entry],
      {
        env: { ...process.env, FORCE_COLOR: '0', ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const onData = (d: Buffer): void => {
      const text = d.toString();
      this.output += text;
      if (this.output.length > 2_000_000) this.output = this.output.slice(-1_000_000);
      if (options.echo) process.stderr.write(`[${this.name}] ${text}`);
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        live.delete(this);
        resolve({ code, signal });
      }),
    );
  }

  static start(options: ServiceProcessOptions): ServiceProcess {
    const p = new ServiceProcess(options);
    live.add(p);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const s of live) s.child.kill('SIGKILL');
      });
    }
    return p;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything the process printed so far. */
  get logs(): string {
    return this.output;
  }

  /** Waits until the output matches `pattern`; returns the match. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return waitFor(
      `${this.name} to print ${String(pattern)}`,
      () => {
        if (!this.running && !pattern.test(this.output)) {
          throw new Error(`${this.name} exited; output:\n${this.output.slice(-4000)}`);
        }
        return this.output.match(pattern);
      },
      { timeoutMs, intervalMs: 25 },
    );
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM; waits for the exit and returns it. */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** Kills every service process this test process started. */
export async function killAllServices(): Promise<void> {
  await Promise.all([...live].map((s) => s.kill()));
}
