import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, sleep, waitFor } from './ports';
import { TcpProxy } from './tcp-proxy';

const execFileAsync = promisify(execFile);

/** Thrown when the `redis-server` binary cannot be found. */
export class RedisServerNotInstalledError extends Error {
  constructor(binary: string) {
    super(
      `"${binary}" was not found. The tests start real Redis servers: install it with ` +
        '`sudo apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), ' +
        'or set REDIS_SERVER_BIN to its path.',
    );
    this.name = 'RedisServerNotInstalledError';
  }
}

export interface RedisServerOptions {
  /** Append-only file with fsync every second, for restart-without-loss tests. @defaultValue false */
  appendOnly?: boolean;
  /** Extra `--name value` arguments. */
  args?: string[];
  /** Start as a Redis Cluster node. @defaultValue false */
  cluster?: boolean;
  /** Start as a Sentinel watching this master (quorum 1 unless given). */
  sentinelOf?: { name: string; port: number; quorum?: number };
}

// Every server started by this process, so a failing test still tears all of them down.
const live = new Set<RedisServer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const server of live) server.killSync();
  });
}

function binary(): string {
  // Test-only knob: a harness setting, not product configuration.

  return process.env['REDIS_SERVER_BIN'] ?? 'redis-server';
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

/**
 * A real `redis-server` child process on a free port with its own temporary directory. Start it with
 * {@link startRedis}; `stop()` / `kill()` / `restart()` inject faults; `destroy()` removes everything.
 */
export class RedisServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `ab-redis-${port}-`));
    const server = new RedisServer(port, dir, options);
    live.add(server);
    installExitHook();
    try {
      await server.launch();
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  get host(): string {
    return '127.0.0.1';
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private args(): string[] {
    const o = this.options;
    if (o.sentinelOf) {
      // Sentinel rewrites its config file, so it gets one of its own in the server's directory.
      const conf = join(this.dir, 'sentinel.conf');
      if (!existsSync(conf)) {
        writeFileSync(
          conf,
          [
            `sentinel monitor ${o.sentinelOf.name} 127.0.0.1 ${o.sentinelOf.port} ${o.sentinelOf.quorum ?? 1}`,
            `sentinel down-after-milliseconds ${o.sentinelOf.name} 1000`,
            `sentinel failover-timeout ${o.sentinelOf.name} 2000`,
            '',
          ].join('\n'),
        );
      }
      return [
        conf,
        '--sentinel',
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--logfile',
        join(this.dir, 'sentinel.log'),
      ];
    }
    return [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      o.appendOnly ? 'yes' : 'no',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
      '--protected-mode',
      'no',
      '--logfile',
      join(this.dir, 'redis.log'),
      ...(o.cluster
        ? ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']
        : []),
      ...(o.args ?? []),
    ];
  }

  private async launch(): Promise<void> {
    const child = spawn(binary(), this.args(), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    // Set by the 'error' callback (an object: a plain `let` would read as never assigned after the await).
    const failed: { spawnError: Error | null } = { spawnError: null };
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      // A process that never started emits 'error' and no 'exit'.
      child.once('error', (err: NodeJS.ErrnoException) => {
        failed.spawnError = err.code === 'ENOENT' ? new RedisServerNotInstalledError(binary()) : err;
        this.child = null;
        resolve();
      });
    });
    await waitFor(
      `redis-server on port ${this.port}`,
      async () => {
        if (failed.spawnError) return true;
        if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${stderr}`);
        return ping(this.port);
      },
      { timeoutMs: 15_000, intervalMs: 25 },
    );
    if (failed.spawnError) throw failed.spawnError;
  }

  /** Graceful stop (SIGTERM: Redis flushes its AOF). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    await this.exited;
  }

  /** Abrupt death. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.child?.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') await this.exited;
  }

  /** Freeze / thaw the process (a stalled server: connections stay open, nothing answers). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Starts the server again on the same port and directory (keeps the AOF when enabled). */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Runs `redis-cli` against this server and returns its output. */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync('redis-cli', ['-p', String(this.port), ...args]);
    return stdout.trim();
  }

  /** @internal */
  killSync(): void {
    if (this.running) this.child?.kill('SIGKILL');
  }

  /** Kills the server and removes its directory. Idempotent. */
  async destroy(): Promise<void> {
    if (this.running) {
      this.child?.kill('SIGCONT');
      this.child?.kill('SIGKILL');
      await this.exited;
    }
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts one `redis-server`. */
export function startRedis(options?: RedisServerOptions): Promise<RedisServer> {
  return RedisServer.start(options);
}

/** Starts a Sentinel that monitors `master` under `name` (quorum 1 unless given, fast failure detection). */
export function startSentinel(master: RedisServer, name = 'mymaster', quorum = 1): Promise<RedisServer> {
  return RedisServer.start({ sentinelOf: { name, port: master.port, quorum } });
}

/** Starts `n` independent masters (a Redlock quorum set). */
export function startRedisMasters(n = 3, options?: RedisServerOptions): Promise<RedisServer[]> {
  return Promise.all(Array.from({ length: n }, () => RedisServer.start(options)));
}

/** A Redis Cluster of `masters` nodes without replicas, created with `redis-cli --cluster create`. */
export class RedisCluster {
  private readonly proxies: TcpProxy[] = [];

  private constructor(readonly nodes: RedisServer[]) {}

  /**
   * Puts a {@link TcpProxy} in front of node `index` for every client: the node announces the proxy's port
   * (`cluster-announce-port`), so Cluster clients that learn the slot map from `CLUSTER SLOTS` (ioredis, and
   * its per-master sharded subscribers) reach that master through the proxy, and a named fault there hits
   * one connection of one process to one master. Call it before clients connect: one that already holds
   * the old address follows only at its next slot refresh. Resolves once every node reports the new port.
   */
  async proxy(index: number): Promise<TcpProxy> {
    const node = this.nodes[index];
    if (!node) throw new RangeError(`no node ${index} in a cluster of ${this.nodes.length}`);
    const proxy = await TcpProxy.start(node.port);
    this.proxies.push(proxy);
    await node.cli('config', 'set', 'cluster-announce-port', String(proxy.port));
    await waitFor(
      `every node to announce node ${index} on port ${proxy.port}`,
      async () => {
        const views = await Promise.all(this.nodes.map((n) => n.cli('cluster', 'nodes')));
        return views.every((v) => v.includes(`:${proxy.port}@${node.port + 10_000}`));
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    return proxy;
  }

  static async start(masters = 3): Promise<RedisCluster> {
    const nodes = await Promise.all(Array.from({ length: masters }, () => RedisServer.start({ cluster: true })));
    const cluster = new RedisCluster(nodes);
    try {
      await execFileAsync('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      await waitFor(
        'cluster_state:ok on every node',
        async () => {
          const infos = await Promise.all(nodes.map((n) => n.cli('cluster', 'info')));
          return infos.every((i) => i.includes('cluster_state:ok'));
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      // Give gossip a moment so every node knows the final slot map.
      await sleep(200);
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  /** `host:port` seeds. */
  get seeds(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.nodes.map((n) => n.destroy()), ...this.proxies.splice(0).map((p) => p.close())]);
  }
}

/** Kills every server this process started (use in `afterAll`). */
export async function destroyAllRedis(): Promise<void> {
  await Promise.all([...live].map((s) => s.destroy()));
}
