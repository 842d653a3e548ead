import { join } from 'node:path';
import type { ReplicaStatus } from '@agent-bridge/bridge';
import { ServiceProcess, freePort, waitFor } from '@agent-bridge/testing';

const root = join(__dirname, '..', '..');
const BRIDGE_MAIN = join(root, 'services', 'bridge', 'src', 'main.ts');
const GATEWAY_MAIN = join(root, 'services', 'gateway', 'src', 'main.ts');

/** Short lease and heartbeat settings so failover tests run in seconds. */
const FAST_ENV: Record<string, string> = {
  AB_LEADER_LEASE_TTL_MS: '1000',
  AB_LEADER_EXTEND_BEFORE_MS: '500',
  AB_LEADER_RETRY_DELAY_MS: '100',
  AB_LEADER_RETRY_JITTER_MS: '50',
  AB_HEARTBEAT_INTERVAL_MS: '200',
  AB_HEARTBEAT_TTL_MS: '1000',
  AB_HEALTH_INTERVAL_MS: '500',
  AB_HEALTH_PROBE_TIMEOUT_MS: '1000',
  AB_SHUTDOWN_TIMEOUT_MS: '5000',
  AB_WORKER_CONCURRENCY: '4',
  // The default: a shorter command timeout adds nothing to failover speed (Redis stays up here) and made a
  // bridge starting on a loaded 2-core machine exit with "Command timed out" before it was ready.
  REDIS_COMMAND_TIMEOUT_MS: '5000',
  REDIS_CONNECT_TIMEOUT_MS: '1000',
  LOG_LEVEL: 'info',
  OTEL_TRACES_EXPORTER: 'none',
  OTEL_METRICS_EXPORTER: 'none',
};

/** A bridge replica process with its HTTP port. */
export class Bridge {
  private constructor(
    readonly id: string,
    readonly port: number,
    readonly proc: ServiceProcess,
  ) {}

  static async start(id: string, env: Record<string, string>): Promise<Bridge> {
    const port = await freePort();
    const proc = ServiceProcess.start({
      entry: BRIDGE_MAIN,
      name: id,
      env: { ...FAST_ENV, ...env, AB_INSTANCE_ID: id, PORT: String(port) },
    });
    await proc.waitForOutput(/bridge ready/, 60_000);
    return new Bridge(id, port, proc);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async status(): Promise<ReplicaStatus> {
    const res = await fetch(`${this.url}/status`);
    if (!res.ok) throw new Error(`${this.id} /status: ${res.status}`);
    return (await res.json()) as ReplicaStatus;
  }
}

/** Starts `n` bridges (b1..bn) with the same key prefix, one after the other (2-core machine). */
export async function startBridges(n: number, env: Record<string, string>, prefix = 'b'): Promise<Bridge[]> {
  const out: Bridge[] = [];
  for (let i = 1; i <= n; i++) out.push(await Bridge.start(`${prefix}${i}`, env));
  return out;
}

/** Statuses of the running bridges (stopped or paused ones are skipped). */
export async function statuses(bridges: Bridge[]): Promise<ReplicaStatus[]> {
  const all = await Promise.all(
    bridges
      .filter((b) => b.proc.running)
      .map((b) =>
        Promise.race([b.status(), new Promise<null>((r) => setTimeout(() => r(null), 1_000))]).catch(() => null),
      ),
  );
  return all.filter((s): s is ReplicaStatus => s !== null);
}

/** Waits until exactly one of `bridges` says it leads (and no other does); returns it. */
export async function waitForSingleLeader(
  bridges: Bridge[],
  timeoutMs = 20_000,
): Promise<{ bridge: Bridge; epoch: number }> {
  return waitFor(
    'exactly one leader',
    async () => {
      const all = await statuses(bridges);
      const leaders = all.filter((s) => s.leader.isLeader);
      if (leaders.length !== 1) return null;
      const leader = leaders[0];
      const bridge = bridges.find((b) => b.id === leader?.id);
      return bridge && leader?.leader.epoch ? { bridge, epoch: leader.leader.epoch } : null;
    },
    { timeoutMs, intervalMs: 20 },
  );
}

/** Starts a real gateway process (answers the probe, keeps a membership record). */
export async function startGateway(id: string, env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const proc = ServiceProcess.start({
    entry: GATEWAY_MAIN,
    name: id,
    env: { ...FAST_ENV, ...env, AB_INSTANCE_ID: id, PORT: String(port), AB_GATEWAY_CHAT_PAGE: 'false' },
  });
  await proc.waitForOutput(/gateway ready/, 60_000);
  return proc;
}
