import { mkdirSync } from 'node:fs';
import { Socket } from 'node:net';
import { ManagedChild } from './managed-child';
import type { Life } from './supervisor';
import type { OutputSink } from './output';

/** How to get a Redis when REDIS_URL is not set. */
const REDIS_INSTALL_HINT =
  'redis-server was not found on PATH, and REDIS_URL is not set.\n' +
  '  Install Redis (7.x recommended):\n' +
  '    Debian/Ubuntu:  sudo apt-get install -y redis-server\n' +
  '    macOS:          brew install redis\n' +
  '  or point agent-bridge at a Redis you already run:\n' +
  '    REDIS_URL=redis://host:6379 npm start';

/** Thrown by {@link EmbeddedRedis.start} when `redis-server` is not installed. */
export class RedisNotInstalledError extends Error {
  constructor() {
    super(REDIS_INSTALL_HINT);
    this.name = 'RedisNotInstalledError';
  }
}

/** Sends PING over a raw socket; resolves true on +PONG. */
function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
    socket.once('data', (buf) => done(buf.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

export interface EmbeddedRedisOptions {
  /** Port to listen on (127.0.0.1 only). */
  port: number;
  /** Data folder: the AOF and the dump live here, so data survives a restart of `npm start`. */
  dir: string;
  /** Environment of the child (PATH decides which redis-server runs). */
  env: NodeJS.ProcessEnv;
  sink: OutputSink;
  colourIndex: number;
  nameWidth: number;
  /** How long to wait for the first PONG. @defaultValue 20000 */
  startTimeoutMs?: number;
}

/**
 * A `redis-server` child of the launcher, bound to 127.0.0.1, with the settings agent-bridge needs
 * (noeviction, append-only file with fsync every second) and its data under the state folder.
 */
export class EmbeddedRedis {
  private child: ManagedChild | null = null;

  constructor(private readonly options: EmbeddedRedisOptions) {}

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The current server process (undefined before `start()`), for supervision. */
  get life(): Life | undefined {
    return this.child ?? undefined;
  }

  /** Whether the server process is running. */
  get running(): boolean {
    return this.child?.running ?? false;
  }

  /**
   * Starts the server (again, after it died: same port, same data folder) and waits until it answers
   * PING; returns that process (the new {@link life}). Throws {@link RedisNotInstalledError} if absent.
   */
  async start(): Promise<Life> {
    mkdirSync(this.options.dir, { recursive: true });
    const o = this.options;
    const args = [
      '--port',
      String(o.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      o.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    const child = new ManagedChild(
      { name: 'redis', command: 'redis-server', args, env: o.env, cwd: o.dir },
      o.sink,
      o.colourIndex,
      o.nameWidth,
    );
    this.child = child;
    const deadline = Date.now() + (o.startTimeoutMs ?? 20_000);
    for (;;) {
      if (child.error) {
        const code = (child.error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new RedisNotInstalledError();
        throw child.error;
      }
      if (!child.running && child.pid !== undefined) {
        // Redis says why in its last lines (e.g. "bind: Address already in use"): name it first.
        const why = child.output
          .split('\n')
          .map((l) => l.replace(/^\d+:[A-Z] .*? # /, '').trim())
          .filter((l) => /error|could not|address|denied|fatal/i.test(l))
          .slice(0, 1);
        throw new Error(
          `redis-server exited during start: ${why[0] ?? 'see its output'}\n${child.output.slice(-2000)}`,
        );
      }
      if (child.pid !== undefined && (await ping(o.port))) return child;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${o.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM (Redis flushes the AOF and exits), SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs = 10_000): Promise<void> {
    await this.child?.stop(graceMs);
  }

  /** Synchronous last resort for the process exit hook. */
  killNow(): void {
    this.child?.killNow();
  }
}
