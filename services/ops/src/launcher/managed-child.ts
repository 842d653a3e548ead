import { type ChildProcess, spawn } from 'node:child_process';
import { type OutputSink, PrefixedWriter } from './output';

/** A command the launcher runs and supervises. */
export interface ChildSpec {
  /** Short name shown in front of every log line (`bridge-1`). */
  name: string;
  command: string;
  args: string[];
  /** Environment of the child (complete: it is not merged with anything). */
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * One supervised child process. It runs in its own process group, so a Ctrl-C in the terminal reaches
 * only the launcher, which then stops the children in order (`stop()`: SIGTERM, then SIGKILL after a
 * deadline). Output goes through a {@link PrefixedWriter}; the last lines are kept for error reports.
 */
export class ManagedChild {
  readonly name: string;
  /** Resolves when the process has exited (or failed to spawn). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly writer: PrefixedWriter;
  private recent = '';
  private spawnError: Error | null = null;
  private stopping: Promise<void> | null = null;
  private readonly listeners: ((text: string) => void)[] = [];

  constructor(spec: ChildSpec, sink: OutputSink, colourIndex: number, width: number) {
    this.name = spec.name;
    this.writer = new PrefixedWriter(sink, spec.name, colourIndex, width);
    this.child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const onData = (d: Buffer): void => {
      const text = d.toString();
      this.recent = (this.recent + text).slice(-20_000);
      this.writer.push(text);
      for (const l of this.listeners) l(this.recent);
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.spawnError = err;
        resolve({ code: null, signal: null });
      });
      this.child.once('close', (code, signal) => {
        this.writer.flush();
        resolve({ code, signal });
      });
    });
  }

  /** Process id (undefined if the spawn failed). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The error of a failed spawn (e.g. ENOENT when the command is not installed). */
  get error(): Error | null {
    return this.spawnError;
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last ~20 kB of output. */
  get output(): string {
    return this.recent;
  }

  /** Resolves when the output matches `pattern`; rejects if the process exits first or time runs out. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (text: string): boolean => {
        const m = text.match(pattern);
        if (m) {
          cleanup();
          resolve(m);
        }
        return m !== null;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name} did not print ${String(pattern)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        const i = this.listeners.indexOf(listener);
        if (i >= 0) this.listeners.splice(i, 1);
      };
      const listener = (text: string): void => void check(text);
      if (check(this.recent)) return;
      this.listeners.push(listener);
      void this.exited.then(({ code, signal }) => {
        if (check(this.recent)) return;
        cleanup();
        reject(
          new Error(`${this.name} exited (${signal ?? `code ${String(code)}`}) before printing ${String(pattern)}`),
        );
      });
    });
  }

  /** Sends a signal to the process (not to its group). */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** Synchronous last resort (process exit hook): SIGKILL the process. */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  /** SIGTERM, wait up to `graceMs`, then SIGKILL; resolves once the process is gone. Idempotent. */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.running) return;
      this.child.kill('SIGCONT');
      this.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      const result = await Promise.race([this.exited.then(() => 'exited' as const), deadline]);
      clearTimeout(timer);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- TS keeps `running` narrowed across the await; the process may exit meanwhile
      if (result === 'timeout' && this.running) {
        this.writer.line(`did not stop within ${graceMs} ms; killing it`);
        this.child.kill('SIGKILL');
        await this.exited;
      }
    })();
    return this.stopping;
  }
}
