/**
 * The processes the agents benchmark measures, both sides on one Redis: agent-bridge (bridge replicas,
 * a gateway) and the naive glue (BullMQ workers calling `io.to(room).emit` through the Socket.IO Redis
 * adapter, a bare Socket.IO gateway). Bridges and naive workers are (re)started per replica count.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ServiceProcess } from '@agent-bridge/testing';

const ROOT = join(__dirname, '..', '..', '..');

export const NAIVE_QUEUE = 'naive-events';
export const NAIVE_PREFIX = 'naive:{bull}';

export class Stack {
  readonly prefix = `bench-${randomUUID().slice(0, 6)}`;
  readonly env: Record<string, string>;
  private readonly naiveEnv: Record<string, string>;
  private gateway: ServiceProcess | null = null;
  private naiveGateway: ServiceProcess | null = null;
  bridges: ServiceProcess[] = [];
  naiveWorkers: ServiceProcess[] = [];
  gatewayPort = 0;
  naivePort = 0;

  constructor(redisUrl: string, concurrency: number, extraEnv: Record<string, string>) {
    this.env = {
      REDIS_URL: redisUrl,
      AB_KEY_PREFIX: this.prefix,
      LOG_LEVEL: 'warn',
      PORT: '0',
      AB_WORKER_CONCURRENCY: String(concurrency),
      AB_JWT_SECRET: 'bench-secret-of-sufficient-length',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_TRACES_EXPORTER: 'none',
      ...extraEnv,
    };
    this.naiveEnv = {
      REDIS_URL: redisUrl,
      PORT: '0',
      NAIVE_KEY: 'naive:socket.io',
      NAIVE_QUEUE,
      NAIVE_PREFIX,
      NAIVE_CONCURRENCY: String(concurrency),
    };
  }

  private start(entry: string, name: string, env: Record<string, string>): ServiceProcess {
    return ServiceProcess.start({ entry: join(ROOT, entry), name, env: { ...env, AB_INSTANCE_ID: name } });
  }

  /** Starts both gateways (once). */
  async startGateways(): Promise<void> {
    this.gateway = this.start('services/gateway/src/main.ts', 'bench-gateway', { ...this.env, LOG_LEVEL: 'info' });
    this.naiveGateway = this.start('test/bench/naive-gateway.ts', 'naive-gateway', this.naiveEnv);
    this.gatewayPort = Number((await this.gateway.waitForOutput(/gateway ready on port (\d+)/, 120_000))[1]);
    this.naivePort = Number((await this.naiveGateway.waitForOutput(/naive gateway ready on port (\d+)/, 120_000))[1]);
  }

  /** (Re)starts `n` bridge replicas and `n` naive workers. */
  async scaleWorkers(n: number): Promise<void> {
    await this.stopWorkers();
    this.bridges = Array.from({ length: n }, (_, i) =>
      this.start('services/bridge/src/main.ts', `bench-bridge-${i}`, { ...this.env, LOG_LEVEL: 'info' }),
    );
    this.naiveWorkers = Array.from({ length: n }, (_, i) =>
      this.start('test/bench/naive-worker.ts', `naive-worker-${i}`, this.naiveEnv),
    );
    await Promise.all([
      ...this.bridges.map((b) => b.waitForOutput(/bridge ready/, 120_000)),
      ...this.naiveWorkers.map((w) => w.waitForOutput(/naive worker ready/, 120_000)),
    ]);
  }

  /** Pids per process kind of one side. */
  pids(side: 'ours' | 'naive'): { worker: number[]; gateway: number[] } {
    return side === 'ours'
      ? { worker: this.bridges.map((b) => b.pid), gateway: [this.gateway?.pid ?? -1] }
      : { worker: this.naiveWorkers.map((w) => w.pid), gateway: [this.naiveGateway?.pid ?? -1] };
  }

  private async stopWorkers(): Promise<void> {
    await Promise.all([...this.bridges, ...this.naiveWorkers].map((p) => p.kill()));
    this.bridges = [];
    this.naiveWorkers = [];
  }

  /** Stops everything it started. Idempotent. */
  async close(): Promise<void> {
    await this.stopWorkers();
    await Promise.all([this.gateway, this.naiveGateway].filter((p) => p !== null).map((p) => p.kill()));
  }
}
