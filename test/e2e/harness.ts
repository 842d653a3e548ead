import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { signToken } from '@agent-bridge/auth';
import type { EventEnvelope } from '@agent-bridge/protocol';
import {
  RedisCluster,
  type RedisServer,
  type RedisServerOptions,
  ServiceProcess,
  type TcpProxy,
  startRedis,
} from '@agent-bridge/testing';

export const ROOT = join(__dirname, '..', '..');
export const BRIDGE_ENTRY = join(ROOT, 'services/bridge/src/main.ts');
export const GATEWAY_ENTRY = join(ROOT, 'services/gateway/src/main.ts');

/** Settings shared by every process of one end-to-end cluster (env names of the config schema). */
export function clusterEnv(
  redis: RedisServer,
  prefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    REDIS_URL: redis.url,
    AB_KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    AB_WORKER_CONCURRENCY: '8',
    AB_HEARTBEAT_INTERVAL_MS: '500',
    AB_HEARTBEAT_TTL_MS: '3000',
    AB_JWT_SECRET: 'e2e-secret-of-sufficient-length',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_TRACES_EXPORTER: 'none',
    ...extra,
  };
}

/**
 * The Redis an end-to-end test runs against: `standalone` (one redis-server) or `cluster` (a three-master
 * Redis Cluster). The same test code runs on either; `AB_TEST_TOPOLOGY` picks the default, so
 * `AB_TEST_TOPOLOGY=cluster npx jest test/e2e/faults.test.ts` runs the suite on a Cluster.
 */
export type TestTopology = 'standalone' | 'cluster';

export function testTopology(): TestTopology {
  const t = process.env['AB_TEST_TOPOLOGY'] ?? 'standalone';
  if (t !== 'standalone' && t !== 'cluster')
    throw new Error(`AB_TEST_TOPOLOGY must be standalone or cluster, got ${t}`);
  return t;
}

/** A running cluster: Redis (one server or a Cluster), bridge replicas and gateways as real child processes. */
export class E2ECluster {
  readonly bridges: ServiceProcess[] = [];
  readonly gateways: { process: ServiceProcess; port: number; url: string }[] = [];
  readonly config: AppConfig;
  /** Cluster started with `proxyMaster`: the proxy every client reaches that master through. */
  masterProxy: TcpProxy | null = null;

  private constructor(
    /** The standalone server; on a Cluster, its first master (tests that restart or proxy Redis need standalone). */
    readonly redis: RedisServer,
    readonly prefix: string,
    readonly env: Record<string, string>,
    readonly topology: TestTopology,
    private readonly redisCluster: RedisCluster | null,
  ) {
    this.config = loadConfig({ env });
  }

  static async start(
    options: {
      bridges?: number;
      gateways?: number;
      env?: Record<string, string>;
      redis?: RedisServerOptions;
      /** @defaultValue {@link testTopology} (env `AB_TEST_TOPOLOGY`) */
      topology?: TestTopology;
      /** Cluster only: reach this master through a TCP proxy ({@link RedisCluster.proxy}), for faults. */
      proxyMaster?: number;
    } = {},
  ): Promise<E2ECluster> {
    const topology = options.topology ?? testTopology();
    const prefix = `e2e-${randomUUID().slice(0, 8)}`;
    let cluster: E2ECluster;
    if (topology === 'cluster') {
      const rc = await RedisCluster.start(3);
      const env = clusterEnv(rc.nodes[0]!, prefix, {
        REDIS_MODE: 'cluster',
        REDIS_CLUSTER_NODES: rc.seeds.join(','),
        // Queue traffic spread over the three masters unless the test says otherwise.
        AB_EVENT_PARTITIONS: process.env['AB_TEST_EVENT_PARTITIONS'] ?? '3',
        ...options.env,
      });
      delete env['REDIS_URL'];
      cluster = new E2ECluster(rc.nodes[0]!, prefix, env, topology, rc);
      if (options.proxyMaster !== undefined)
        cluster.masterProxy = await rc.proxy(options.proxyMaster).catch(async (err: unknown) => {
          await rc.destroy();
          throw err;
        });
    } else {
      const redis = await startRedis(options.redis);
      cluster = new E2ECluster(redis, prefix, clusterEnv(redis, prefix, options.env), topology, null);
    }
    await Promise.all([
      ...Array.from({ length: options.bridges ?? 2 }, (_, i) => cluster.startBridge(`bridge-${i + 1}`)),
      ...Array.from({ length: options.gateways ?? 2 }, (_, i) => cluster.startGateway(`gateway-${i + 1}`)),
    ]);
    return cluster;
  }

  /** The servers of the Cluster's masters; the one server on standalone. */
  get masters(): RedisServer[] {
    return this.redisCluster ? this.redisCluster.nodes : [this.redis];
  }

  async startBridge(name: string): Promise<ServiceProcess> {
    const p = ServiceProcess.start({
      entry: BRIDGE_ENTRY,
      name,
      env: { ...this.env, PORT: '0', AB_INSTANCE_ID: `${this.prefix}-${name}` },
    });
    this.bridges.push(p);
    await p.waitForOutput(/bridge ready/, 60_000);
    return p;
  }

  /** Starts a gateway named `name` (instance id `<prefix>-<name>`); `env` overrides the cluster's settings. */
  async startGateway(
    name: string,
    env: Record<string, string> = {},
  ): Promise<{ process: ServiceProcess; port: number; url: string }> {
    const p = ServiceProcess.start({
      entry: GATEWAY_ENTRY,
      name,
      env: { ...this.env, PORT: '0', AB_INSTANCE_ID: `${this.prefix}-${name}`, ...env },
    });
    const m = await p.waitForOutput(/gateway ready on port (\d+)/, 60_000);
    const port = Number(m[1]);
    const gw = { process: p, port, url: `http://127.0.0.1:${port}` };
    this.gateways.push(gw);
    return gw;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.bridges, ...this.gateways.map((g) => g.process)].map((p) => p.kill()));
    if (this.redisCluster) await this.redisCluster.destroy();
    else await this.redis.destroy();
  }
}

/** Per-run record of what a subscriber's app saw: envelopes in delivery order. */
export class Received {
  readonly byRun = new Map<string, EventEnvelope[]>();
  total = 0;

  handler(runId: string): (event: EventEnvelope) => void {
    const list: EventEnvelope[] = [];
    this.byRun.set(runId, list);
    return (event) => {
      list.push(event);
      this.total++;
    };
  }

  /**
   * Every run whose delivered ids/seqs differ from what was emitted, described (empty = exact).
   * `expected` maps a run to the ids emitted, in emit (= seq) order.
   */
  mismatches(expected: Map<string, string[]>): string[] {
    const out: string[] = [];
    for (const [runId, ids] of expected) {
      const got = this.byRun.get(runId) ?? [];
      const gotIds = got.map((e) => e.id);
      const gotSeqs = got.map((e) => e.seq);
      const wantSeqs = ids.map((_, i) => i + 1);
      if (JSON.stringify(gotIds) !== JSON.stringify(ids) || JSON.stringify(gotSeqs) !== JSON.stringify(wantSeqs)) {
        out.push(
          `${runId}: got ${got.length} events, seqs ${gotSeqs.slice(0, 20).join(',')}${got.length > 20 ? ',…' : ''}`,
        );
      }
    }
    return out;
  }
}

/** A client token for `userId`, signed like the cluster's gateways expect. */
export function tokenFor(cluster: E2ECluster, userId: string): Promise<string> {
  return signToken(userId, cluster.config.auth);
}
