import { join } from 'node:path';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { Lifecycle, type LifecycleState } from '@agent-bridge/runtime';
import { printBanner } from './banner';
import { describeRedis } from './redis-line';
import { buildChatBundle, buildStatusBundle, writeFileAtomic } from './page-bundles';
import { EmbeddedRedis } from './embedded-redis';
import { waitForActive } from './integration-watch';
import { ProcessRecord } from './leftovers';
import { ManagedChild } from './managed-child';
import { paint } from './output';
import { pickClusterPorts, pickPort } from './ports';
import { superviseCluster } from './cluster-supervision';
import type { Supervisor } from './supervisor';
import type { LaunchedCluster, LaunchedProcess, LauncherOptions } from './launcher-options';

/**
 * Runs the whole agent-bridge cluster on this machine: an embedded Redis (unless a URL is given), N bridge
 * replicas, M gateways, ops and the demo agent, each a child process run from TypeScript sources
 * (`node --conditions=@agent-bridge/source --import tsx`), with prefixed, coloured logs. `start()` returns
 * once the integration state published by the leader is ACTIVE; `close()` stops everything in reverse
 * order (agents and gateways, then bridges, then Redis) and is idempotent.
 */
export class Launcher {
  /** close() runs at once during a start (which then fails): start() itself closes on failure. */
  private readonly lifecycle = new Lifecycle({ closeWaitsForStart: false });
  private readonly children: ManagedChild[] = [];
  private redis: EmbeddedRedis | null = null;
  private watcher: RedisConnection | null = null;
  /** The Redis topology, Pub/Sub mode and partitions, for the banner (read once the cluster is ACTIVE). */
  private redisLine = '';
  private readonly ports = new Map<string, number>();
  private readonly record: ProcessRecord;
  private readonly nameWidth: number;
  private colour = 1;
  private readonly specs = new Map<string, { entry: string; env: Record<string, string>; colour: number }>();
  private readonly supervisors: Supervisor[] = [];
  private readonly opts: Required<Omit<LauncherOptions, 'redisUrl' | 'basePorts' | 'restartPolicy' | 'onGiveUp'>> &
    Pick<LauncherOptions, 'redisUrl' | 'basePorts' | 'restartPolicy' | 'onGiveUp'>;

  constructor(options: LauncherOptions) {
    const replicas = options.replicas ?? 2;
    const gateways = options.gateways ?? 2;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 16) throw new Error('replicas must be 1..16');
    if (!Number.isInteger(gateways) || gateways < 1 || gateways > 16) throw new Error('gateways must be 1..16');
    this.opts = {
      ...options,
      replicas,
      gateways,
      stateDir: options.stateDir ?? join(options.repoRoot, '.state'),
      readyTimeoutMs: options.readyTimeoutMs ?? 120_000,
      graceMs: options.graceMs ?? 10_000,
      demoAgent: options.demoAgent ?? true,
    };
    this.record = new ProcessRecord(join(this.opts.stateDir, 'launcher-pids.json'));
    this.nameWidth = Math.max('demo-agent'.length, `gateway-${gateways}`.length, `bridge-${replicas}`.length);
  }

  /** Current lifecycle state. */
  getState(): LifecycleState {
    return this.lifecycle.state;
  }

  /** The started processes. */
  getProcesses(): LaunchedProcess[] {
    const list: LaunchedProcess[] = [];
    if (this.redis) list.push({ name: 'redis', pid: this.redis.pid, running: this.redis.running });
    for (const c of this.children) {
      list.push({ name: c.name, pid: c.pid, port: this.ports.get(c.name), running: c.running });
    }
    return list;
  }

  private say(text: string): void {
    const prefix = paint(this.opts.sink, 1, `${'launcher'.padEnd(this.nameWidth)} |`);
    this.opts.sink.write(`${prefix} ${text}\n`);
  }

  private service(name: string, entry: string, env: Record<string, string>): ManagedChild {
    this.specs.set(name, { entry, env, colour: this.colour++ });
    const port = env.PORT;
    if (port) this.ports.set(name, Number(port));
    return this.spawn(name);
  }

  /** Starts (again) the child `name` from its spec; a new life replaces the old one in the list. */
  private spawn(name: string): ManagedChild {
    const spec = this.specs.get(name);
    if (!spec) throw new Error(`no launch spec for ${name}`);
    const child = new ManagedChild(
      {
        name,
        command: process.execPath,
        args: ['--conditions=@agent-bridge/source', '--import', 'tsx', join(this.opts.repoRoot, spec.entry)],
        env: { ...this.opts.env, ...spec.env, AB_INSTANCE_ID: name },
        cwd: this.opts.repoRoot,
      },
      this.opts.sink,
      spec.colour,
      this.nameWidth,
    );
    const at = this.children.findIndex((c) => c.name === name);
    if (at >= 0) this.children[at] = child;
    else this.children.push(child);
    this.record.add(name, child.pid);
    const port = spec.env.PORT;
    this.say(`${name} started (pid ${child.pid ?? '?'}${port ? `, port ${port}` : ''})`);
    void child.exited.then(({ code, signal }) => {
      // Once the cluster is ready, the supervisor reports deaths (and restarts).
      if (this.lifecycle.state !== 'starting') return;
      this.say(paint(this.opts.sink, 31, `${name} exited (${signal ?? `code ${String(code)}`})`));
    });
    return child;
  }

  /** Restarts a child that died after ready: resolves once it printed its ready line again. */
  private async respawn(name: string): Promise<ManagedChild> {
    if (this.lifecycle.state !== 'running') throw new Error('launcher is stopping');
    const child = this.spawn(name);
    const role = name.replace(/-\d+$/, '');
    try {
      await child.waitForOutput(new RegExp(`${role} ready`), this.opts.readyTimeoutMs);
    } catch (err) {
      await child.stop(this.opts.graceMs);
      throw err;
    }
    // getState(), not this.lifecycle.state (narrowed above): close() may have run during the wait.
    if (this.getState() !== 'running') {
      await child.stop(this.opts.graceMs);
      throw new Error('launcher is stopping');
    }
    return child;
  }

  /** From ready on, every child and the embedded Redis are restarted when they die (see RestartPolicy). */
  private supervise(): void {
    const supervisors = superviseCluster({
      children: this.children,
      redis: this.redis,
      policy: this.opts.restartPolicy ?? {},
      respawn: (name) => this.respawn(name),
      isReady: () => this.lifecycle.state === 'running',
      say: (text, loud) => this.say(loud ? paint(this.opts.sink, 31, text) : text),
      record: (name, pid) => this.record.add(name, pid),
      giveUp: (error) => (this.opts.onGiveUp ? this.opts.onGiveUp(error) : void this.close()),
    });
    this.supervisors.push(...supervisors);
  }

  /**
   * Starts everything and waits until the integration is ACTIVE. On any failure it stops whatever it
   * started and rethrows (a {@link RedisNotInstalledError} when Redis is needed and not installed).
   */
  async start(): Promise<LaunchedCluster> {
    const state = this.lifecycle.state;
    if (state !== 'idle') throw new Error(`launcher cannot start in state ${state}`);
    const started: { cluster?: LaunchedCluster } = {};
    try {
      await this.lifecycle.start(async () => {
        started.cluster = await this.doStart();
      });
    } catch (err) {
      await this.close();
      throw err;
    }
    // Set: the start above resolved only after doStart returned.
    if (!started.cluster) throw new Error('launcher closed during start');
    return started.cluster;
  }

  private async doStart(): Promise<LaunchedCluster> {
    const o = this.opts;
    const taken = new Set<number>();
    const publicDir = join(o.repoRoot, 'services', 'gateway', 'public');

    const leftovers = await this.record.stopLeftovers();
    if (leftovers.length > 0) this.say(`stopped processes a killed launcher left behind: ${leftovers.join(', ')}`);

    let redisUrl = o.redisUrl;
    if (redisUrl === undefined) {
      // Another program may take the port between the check and redis-server's bind: try the next one.
      for (let attempt = 1; ; attempt++) {
        const port = await pickPort(o.basePorts?.redis ?? 16379, taken);
        this.redis = new EmbeddedRedis({
          port,
          dir: join(o.stateDir, 'redis'),
          env: o.env,
          sink: o.sink,
          colourIndex: 0,
          nameWidth: this.nameWidth,
        });
        this.say(`starting an embedded Redis on 127.0.0.1:${port} (data in ${join(o.stateDir, 'redis')})`);
        try {
          await this.redis.start();
          break;
        } catch (err) {
          if (attempt >= 5 || !/Address already in use/i.test((err as Error).message)) throw err;
          this.say(`port ${port} was taken meanwhile; trying another`);
        } finally {
          this.record.add('redis', this.redis.pid);
        }
      }
      redisUrl = this.redis.url;
      this.say(`redis ready (pid ${this.redis.pid ?? '?'})`);
    } else {
      this.say('using the Redis at REDIS_URL');
    }
    if (this.lifecycle.isClosing) throw new Error('launcher closed during start');

    const config: AppConfig = loadConfig({ env: o.env, overrides: { REDIS_URL: redisUrl } });

    this.say('bundling the chat page (with the client SDK) and the status page (with uPlot)');
    await Promise.all([buildChatBundle(publicDir), buildStatusBundle()]);

    // The admin listener stays off unless AB_BRIDGE_ADMIN_TOKEN is set.
    const ports = await pickClusterPorts(
      o,
      o.basePorts,
      config.bridge.adminToken === undefined ? undefined : config.bridge.adminPort,
      taken,
    );
    const { gateways: gatewayPorts, ops: opsPort, bridges: bridgePorts, admin: adminPorts } = ports;

    // The chat page reads the gateway list from here to connect to any of them (and fail over).
    writeFileAtomic(
      join(publicDir, 'dist', 'config.json'),
      `${JSON.stringify(
        {
          gateways: gatewayPorts.map((port, i) => ({ name: `gateway-${i + 1}`, port })),
          opsPort,
        },
        null,
        2,
      )}\n`,
    );

    const common = { REDIS_URL: redisUrl };
    for (let i = 0; i < o.replicas; i++) {
      const admin: Record<string, string> =
        adminPorts[i] === undefined ? {} : { AB_BRIDGE_ADMIN_PORT: String(adminPorts[i]) };
      this.service(`bridge-${i + 1}`, 'services/bridge/src/main.ts', {
        ...common,
        ...admin,
        PORT: String(bridgePorts[i]),
      });
    }
    for (let i = 0; i < o.gateways; i++) {
      // The local launcher is the one place that turns the demo chat page and sign-in on.
      this.service(`gateway-${i + 1}`, 'services/gateway/src/main.ts', {
        ...common,
        PORT: String(gatewayPorts[i]),
        AB_GATEWAY_CHAT_PAGE: 'true',
      });
    }
    this.service('ops', 'services/ops/src/main.ts', { ...common, PORT: String(opsPort) });
    if (o.demoAgent) this.service('demo-agent', 'services/demo-agent/src/main.ts', { ...common });

    const readyLines: Promise<unknown>[] = this.children.map((c) => {
      const role = c.name.replace(/-\d+$/, '');
      return c.waitForOutput(new RegExp(`${role} ready`), o.readyTimeoutMs);
    });
    await Promise.all(readyLines);
    this.say('every process is up; waiting for the integration to become ACTIVE');
    await this.waitForActive(config);
    // getState(), not this.lifecycle (narrowed above): close() may have run during the wait.
    if (this.getState() !== 'starting') throw new Error('launcher closed during start');
    // The Lifecycle moves to running once this start resolves, a few microtasks on: no child exit
    // (an I/O event) can be seen in between, so the supervisors never see a ready cluster as starting.
    this.supervise();

    const host = 'http://localhost';
    const cluster: LaunchedCluster = {
      redisUrl,
      embeddedRedis: this.redis !== null,
      chatUrls: gatewayPorts.map((p) => `${host}:${p}/`),
      statusUrl: `${host}:${opsPort}/status`,
      // Bull Board's mount point (services/ops/src/server/bull-board.ts BOARD_PATH).
      bullBoardUrl: `${host}:${opsPort}/board`,
      processes: this.getProcesses(),
    };
    const { replicas, gateways, demoAgent } = o;
    printBanner(o.sink, { ...cluster, redisLine: this.redisLine, replicas, gateways, demoAgent }, config);
    return cluster;
  }

  private async waitForActive(config: AppConfig): Promise<void> {
    this.watcher = createRedis(config, 'command', { name: 'launcher' });
    await waitForActive(this.watcher, config, {
      timeoutMs: this.opts.readyTimeoutMs,
      children: this.children,
      isStarting: () => this.lifecycle.state === 'starting',
      say: (text) => this.say(text),
    });
    this.redisLine = await describeRedis(this.watcher, config);
    await closeRedis(this.watcher);
    this.watcher = null;
  }

  /**
   * Stops everything: the demo agent, ops and the gateways first, then the bridge replicas (the leader
   * hands over on SIGTERM), then the embedded Redis. Every step runs even if an earlier one failed.
   * Idempotent: later calls return the same promise.
   */
  close(): Promise<void> {
    return this.lifecycle.close(async () => {
      for (const sup of this.supervisors) sup.stop();
      this.say('stopping');
      const grace = this.opts.graceMs;
      const front = this.children.filter((c) => !c.name.startsWith('bridge-'));
      const bridges = this.children.filter((c) => c.name.startsWith('bridge-'));
      await Promise.allSettled(front.map((c) => c.stop(grace)));
      await Promise.allSettled(bridges.map((c) => c.stop(grace)));
      if (this.watcher) await closeRedis(this.watcher).catch(() => undefined);
      if (this.redis) await this.redis.stop(grace).catch(() => undefined);
      if (this.getProcesses().every((p) => !p.running)) this.record.clear();
      this.say('stopped; no process left behind');
    });
  }

  /** Synchronous last resort (process `exit` hook): SIGKILL every child still running. */
  killAllNow(): void {
    for (const c of this.children) c.killNow();
    this.redis?.killNow();
  }
}
