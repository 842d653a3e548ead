import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type RedisServer, ServiceProcess, TcpProxy, freePort, startRedis } from '@agent-bridge/testing';
import { BRIDGE_ENTRY, GATEWAY_ENTRY, clusterEnv } from '../e2e/harness';

/** A bridge replica or gateway of the nemesis cluster, with its own TCP proxy in front of Redis. */
export interface Member {
  readonly role: 'bridge' | 'gateway';
  readonly name: string;
  /** Its link to Redis: every connection of this process goes through it (commands and Pub/Sub). */
  readonly proxy: TcpProxy;
  /** Fixed HTTP port (gateways), so a restarted gateway is found again at the same URL. */
  readonly port: number;
  process: ServiceProcess;
  /** Times it was started (the instance id carries it, so each life is a distinct leader id). */
  lives: number;
  /** SIGSTOPped (the nemesis thaws it when healing). */
  frozen: boolean;
}

export interface NemesisClusterOptions {
  /** @defaultValue 2 */
  bridges?: number;
  /** @defaultValue 2 */
  gateways?: number;
  /** Extra service environment (config schema names). */
  env?: Record<string, string>;
  /** Print the children's output. @defaultValue false */
  echo?: boolean;
}

/**
 * The system under test: one redis-server with AOF, bridge replicas and gateways as real child processes,
 * each talking to Redis through its own {@link TcpProxy} so one service's link can be cut, delayed or
 * reset while the rest runs on. Dead members can be started again in place.
 */
export class NemesisCluster {
  readonly members: Member[] = [];
  readonly config: AppConfig;

  private constructor(
    readonly redis: RedisServer,
    readonly prefix: string,
    private readonly env: Record<string, string>,
    private readonly echo: boolean,
  ) {
    this.config = loadConfig({ env });
  }

  static async start(options: NemesisClusterOptions = {}): Promise<NemesisCluster> {
    const redis = await startRedis({ appendOnly: true });
    const prefix = `nem-${randomUUID().slice(0, 8)}`;
    const env = clusterEnv(redis, prefix, {
      AB_WORKER_CONCURRENCY: '4',
      ...options.env,
    });
    const cluster = new NemesisCluster(redis, prefix, env, options.echo ?? false);
    try {
      const specs = [
        ...Array.from({ length: options.bridges ?? 2 }, (_, i) => ['bridge', `bridge-${i + 1}`] as const),
        ...Array.from({ length: options.gateways ?? 2 }, (_, i) => ['gateway', `gateway-${i + 1}`] as const),
      ];
      for (const [role, name] of specs) {
        const proxy = await TcpProxy.start(redis.port);
        const port = role === 'gateway' ? await freePort() : 0;
        const member: Member = {
          role,
          name,
          proxy,
          port,
          process: null as unknown as ServiceProcess,
          lives: 0,
          frozen: false,
        };
        cluster.members.push(member);
      }
      await Promise.all(cluster.members.map((m) => cluster.launch(m)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get bridges(): Member[] {
    return this.members.filter((m) => m.role === 'bridge');
  }

  get gateways(): Member[] {
    return this.members.filter((m) => m.role === 'gateway');
  }

  gatewayUrl(m: Member): string {
    return `http://127.0.0.1:${m.port}`;
  }

  /** Starts (again) a member and waits until it is ready. */
  async launch(m: Member, timeoutMs = 90_000): Promise<void> {
    m.lives++;
    m.process = ServiceProcess.start({
      entry: m.role === 'bridge' ? BRIDGE_ENTRY : GATEWAY_ENTRY,
      name: `${m.name}#${m.lives}`,
      echo: this.echo,
      env: {
        ...this.env,
        REDIS_URL: m.proxy.url,
        PORT: String(m.port),
        AB_INSTANCE_ID: `${this.prefix}-${m.name}-${m.lives}`,
      },
    });
    m.frozen = false;
    await m.process.waitForOutput(m.role === 'bridge' ? /bridge ready/ : /gateway ready on port/, timeoutMs);
  }

  /** Heals every proxy, thaws every process and starts every dead member again. */
  async heal(): Promise<void> {
    for (const m of this.members) {
      m.proxy.heal();
      if (m.frozen) m.process.signal('SIGCONT');
      m.frozen = false;
    }
    if (!this.redis.running) await this.redis.restart();
    this.redis.resume();
    await Promise.all(this.members.filter((m) => !m.process.running).map((m) => this.launch(m)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.filter((m) => m.process).map((m) => m.process.kill()));
    await Promise.all(this.members.map((m) => m.proxy.close()));
    await this.redis.destroy();
  }
}
