import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import {
  type RedisServer,
  ServiceProcess,
  TcpProxy,
  freePort,
  sleep,
  startRedis,
  startSentinel,
  waitFor,
} from '@agent-bridge/testing';
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
  /** Set while it is being started again after a kill (faults then pick another target). */
  restarting: Promise<void> | null;
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
  /**
   * `sentinel`: a master and `replicas` replicas (all with AOF) watched by three Sentinels (quorum 2); the
   * services find the master through the Sentinels (so their links do not go through the proxies) and
   * producers wait for one replica (`REDIS_WAIT_REPLICAS=1`).
   * @defaultValue 'standalone'
   */
  mode?: 'standalone' | 'sentinel';
  /** Replicas of the data master in `sentinel` mode. @defaultValue 1 */
  replicas?: number;
}

/** Name of the master the nemesis Sentinels watch. */
export const SENTINEL_MASTER = 'nemesis';

/** The Sentinel topology of a `sentinel` mode cluster (the first master is `NemesisCluster.redis`). */
export interface SentinelTopology {
  replicas: RedisServer[];
  sentinels: RedisServer[];
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
    readonly sentinels: SentinelTopology | null,
    readonly prefix: string,
    private readonly env: Record<string, string>,
    private readonly echo: boolean,
  ) {
    this.config = loadConfig({ env });
  }

  static async start(options: NemesisClusterOptions = {}): Promise<NemesisCluster> {
    const redis = await startRedis({ appendOnly: true });
    let sentinels: SentinelTopology | null = null;
    if (options.mode === 'sentinel') {
      try {
        sentinels = await startSentinelTopology(redis, options.replicas ?? 1);
      } catch (err) {
        await redis.destroy();
        throw err;
      }
    }
    const prefix = `nem-${randomUUID().slice(0, 8)}`;
    const env = clusterEnv(redis, prefix, {
      AB_WORKER_CONCURRENCY: '4',
      ...(sentinels
        ? {
            REDIS_MODE: 'sentinel',
            REDIS_SENTINELS: sentinels.sentinels.map((x) => `127.0.0.1:${x.port}`).join(','),
            REDIS_SENTINEL_NAME: SENTINEL_MASTER,
            REDIS_WAIT_REPLICAS: '1',
          }
        : {}),
      ...options.env,
    });
    const cluster = new NemesisCluster(redis, sentinels, prefix, env, options.echo ?? false);
    try {
      const specs = [
        ...Array.from({ length: options.bridges ?? 2 }, (_, i) => ['bridge', `bridge-${i + 1}`] as const),
        ...Array.from({ length: options.gateways ?? 2 }, (_, i) => ['gateway', `gateway-${i + 1}`] as const),
      ];
      for (const [role, name] of specs) {
        const proxy = await TcpProxy.start(redis.port);
        const port = role === 'gateway' ? await freePort() : 0;
        // Its first life starts here, so every member has a process (stop() after a failure kills it).
        const member: Member = {
          role,
          name,
          proxy,
          port,
          process: cluster.spawn(role, name, proxy, port, 1),
          lives: 1,
          frozen: false,
          restarting: null,
        };
        cluster.members.push(member);
      }
      await Promise.all(cluster.members.map((m) => cluster.ready(m)));
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
    m.process = this.spawn(m.role, m.name, m.proxy, m.port, m.lives);
    m.frozen = false;
    await this.ready(m, timeoutMs);
  }

  /** Starts life `life` of a member's process (without waiting for it). */
  private spawn(role: Member['role'], name: string, proxy: TcpProxy, port: number, life: number): ServiceProcess {
    return ServiceProcess.start({
      entry: role === 'bridge' ? BRIDGE_ENTRY : GATEWAY_ENTRY,
      name: `${name}#${life}`,
      echo: this.echo,
      env: {
        ...this.env,
        REDIS_URL: proxy.url,
        PORT: String(port),
        AB_INSTANCE_ID: `${this.prefix}-${name}-${life}`,
      },
    });
  }

  /** Waits until a member's current process says it is ready. */
  private async ready(m: Member, timeoutMs = 90_000): Promise<void> {
    await m.process.waitForOutput(m.role === 'bridge' ? /bridge ready/ : /gateway ready on port/, timeoutMs);
  }

  /**
   * Starts a killed member again after `delayMs`, in the background (the schedule goes on meanwhile);
   * {@link heal} waits for it. A start that fails is left to `heal()`, which starts every dead member.
   */
  restartLater(m: Member, delayMs: number): void {
    m.restarting = (async () => {
      await sleep(delayMs);
      await this.launch(m);
    })()
      .catch(() => undefined)
      .finally(() => {
        m.restarting = null;
      });
  }

  /** Heals every proxy, thaws every process and starts every dead member again. */
  async heal(): Promise<void> {
    await Promise.all(this.members.map((m) => m.restarting).filter((p) => p !== null));
    for (const m of this.members) {
      m.proxy.heal();
      if (m.frozen) m.process.signal('SIGCONT');
      m.frozen = false;
    }
    for (const server of [this.redis, ...(this.sentinels?.replicas ?? [])]) {
      if (!server.running) await server.restart();
      server.resume();
    }
    await Promise.all(this.members.filter((m) => !m.process.running).map((m) => this.launch(m)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.process.kill()));
    await Promise.all(this.members.map((m) => m.proxy.close()));
    await Promise.all((this.sentinels?.sentinels ?? []).map((x) => x.destroy()));
    await Promise.all((this.sentinels?.replicas ?? []).map((x) => x.destroy()));
    await this.redis.destroy();
  }
}

/**
 * `replicas` replicas of `master` (AOF on) and three Sentinels (quorum 2) that know all of them, ready for
 * a failover. One replica by default: with two, writes the demoted master takes between the promotion and
 * Sentinel's reconfiguration of the other replica are acknowledged by that replica (WAIT 1) and then
 * discarded when it resyncs from the new master (decision 0005 measures it).
 */
async function startSentinelTopology(master: RedisServer, count = 1): Promise<SentinelTopology> {
  const replicas: RedisServer[] = [];
  const sentinels: RedisServer[] = [];
  try {
    for (let i = 0; i < count; i++) {
      replicas.push(await startRedis({ appendOnly: true, args: ['--replicaof', '127.0.0.1', String(master.port)] }));
    }
    for (const replica of replicas) {
      await waitFor(
        'the replicas in sync',
        async () => /master_link_status:up/.test(await replica.cli('info', 'replication')),
        { timeoutMs: 30_000 },
      );
    }
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel(master, SENTINEL_MASTER, 2));
    for (const s of sentinels) {
      await waitFor(
        'every Sentinel to know the replicas and the other Sentinels',
        async () => {
          const known = await s.cli('sentinel', 'replicas', SENTINEL_MASTER);
          const peers = await s.cli('sentinel', 'sentinels', SENTINEL_MASTER);
          return (
            replicas.every((r) => known.includes(String(r.port))) &&
            sentinels.every((o) => o === s || peers.includes(String(o.port)))
          );
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    }
    return { replicas, sentinels };
  } catch (err) {
    await Promise.all(sentinels.map((x) => x.destroy()));
    await Promise.all(replicas.map((x) => x.destroy()));
    throw err;
  }
}
