import { keyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import { sleep } from '@agent-bridge/testing';
import { type Member, type NemesisCluster, SENTINEL_MASTER } from './cluster';
import type { FaultRecord } from './history';
import type { Prng } from './prng';

/**
 * Every fault the nemesis can inject. Process faults hit one bridge replica or gateway (or redis-server);
 * `*-link` faults hit one service's TCP link to Redis alone (through its proxy); `client-kill-*` kill
 * connections inside Redis; `lease-delete` removes the leader lease behind the leader's back.
 */
export const FAULT_KINDS = [
  'kill-bridge',
  'stop-bridge',
  'kill-gateway',
  'stop-gateway',
  'kill-redis',
  'stop-redis',
  'client-kill-normal',
  'client-kill-pubsub',
  'cut-bridge-link',
  'delay-bridge-link',
  'reset-bridge-link',
  'cut-gateway-link',
  'delay-gateway-link',
  'reset-gateway-link',
  'lease-delete',
  'sentinel-failover',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Fault kinds of the CI schedule (standalone mode): every kind but `sentinel-failover`, which needs the
 * Sentinel topology (the `sentinel` mode runs it in CI: test/nemesis/sentinel.test.ts). The gateway-link and Redis-restart
 * kinds (`client-kill-pubsub`, `cut-gateway-link`, `reset-gateway-link`, `kill-redis`) rely on the gateway's
 * catch-up after its adapter subscription comes back (guarantee 1.9): with `AB_GATEWAY_RESYNC=false` the
 * same schedule loses the ends of runs (`npm run nemesis -- --seed 2 --seconds 40`).
 */
export const DEFAULT_FAULTS: readonly FaultKind[] = FAULT_KINDS.filter((kind) => kind !== 'sentinel-failover');

/**
 * Fault kinds of the `sentinel` mode: the services reach the master through the Sentinels, not through
 * the proxies, so link faults do not apply; a failover promotes the replica (and back, next time).
 * In CI (test/nemesis/sentinel.test.ts; guarantees 1.10, 2.2, decision 0005).
 */
export const SENTINEL_FAULTS: readonly FaultKind[] = [
  'kill-bridge',
  'stop-bridge',
  'kill-gateway',
  'stop-gateway',
  'client-kill-normal',
  'lease-delete',
  'sentinel-failover',
];

/** One planned fault: what, on which member (index into its role), held how long. */
export interface PlannedFault {
  kind: FaultKind;
  /** Index of the target among the bridges or gateways (ignored by cluster-wide faults). */
  target: number;
  durationMs: number;
  /** Added delay for `delay-*-link`. */
  delayMs: number;
  /** Quiet time after the fault is healed, before the next one. */
  pauseMs: number;
}

const HOLD: Record<FaultKind, [number, number]> = {
  'kill-bridge': [300, 3_000],
  'stop-bridge': [1_000, 7_000],
  'kill-gateway': [300, 3_000],
  'stop-gateway': [500, 4_000],
  'kill-redis': [200, 2_000],
  'stop-redis': [300, 3_000],
  'client-kill-normal': [0, 0],
  'client-kill-pubsub': [0, 0],
  'cut-bridge-link': [300, 4_000],
  'delay-bridge-link': [1_000, 4_000],
  'reset-bridge-link': [0, 0],
  'cut-gateway-link': [300, 4_000],
  'delay-gateway-link': [1_000, 4_000],
  'reset-gateway-link': [0, 0],
  'lease-delete': [0, 0],
  'sentinel-failover': [0, 0],
};

/** The next fault of a seeded schedule (deterministic for a given generator state and kind list). */
export function planFault(rng: Prng, kinds: readonly FaultKind[]): PlannedFault {
  const kind = rng.pick(kinds);
  const [lo, hi] = HOLD[kind];
  return {
    kind,
    target: rng.int(0, 15),
    durationMs: rng.int(lo, hi),
    delayMs: rng.int(20, 400),
    pauseMs: rng.int(500, 2_500),
  };
}

/**
 * Injects one fault into the cluster, holds it and heals what it broke (a killed process is started
 * again after the hold, in the background), and returns the record. `admin` is a direct (unproxied) connection to the data Redis.
 */
export async function injectFault(
  cluster: NemesisCluster,
  admin: RedisConnection,
  f: PlannedFault,
  startedAt: number,
): Promise<FaultRecord> {
  // The planned target, or the next one that is not being restarted after a kill (null: none is up).
  const pick = (list: Member[]): Member | null => {
    for (let i = 0; i < list.length; i++) {
      const m = list[(f.target + i) % list.length]!;
      if (!m.restarting) return m;
    }
    return null;
  };
  const record = (target: string): FaultRecord => ({
    at: Date.now() - startedAt,
    kind: f.kind,
    target,
    durationMs: f.durationMs,
  });
  switch (f.kind) {
    case 'kill-bridge':
    case 'kill-gateway': {
      const m = pick(f.kind === 'kill-bridge' ? cluster.bridges : cluster.gateways);
      if (!m) return record('none up');
      const r = record(m.process.name);
      await m.process.kill();
      cluster.restartLater(m, f.durationMs);
      return r;
    }
    case 'stop-bridge':
    case 'stop-gateway': {
      const m = pick(f.kind === 'stop-bridge' ? cluster.bridges : cluster.gateways);
      if (!m) return record('none up');
      m.process.signal('SIGSTOP');
      m.frozen = true;
      await sleep(f.durationMs);
      m.process.signal('SIGCONT');
      m.frozen = false;
      return record(m.process.name);
    }
    case 'kill-redis':
      await cluster.redis.kill('SIGKILL');
      await sleep(f.durationMs);
      await cluster.redis.restart();
      return record('redis-server');
    case 'stop-redis':
      cluster.redis.pause();
      await sleep(f.durationMs);
      cluster.redis.resume();
      return record('redis-server');
    case 'client-kill-normal':
    case 'client-kill-pubsub': {
      const type = f.kind === 'client-kill-normal' ? 'normal' : 'pubsub';
      const killed = await admin.call('CLIENT', 'KILL', 'TYPE', type, 'SKIPME', 'yes');
      return record(`${String(killed)} ${type} connections`);
    }
    case 'cut-bridge-link':
    case 'cut-gateway-link':
    case 'delay-bridge-link':
    case 'delay-gateway-link':
    case 'reset-bridge-link':
    case 'reset-gateway-link': {
      const m = pick(f.kind.includes('bridge') ? cluster.bridges : cluster.gateways);
      if (!m) return record('none up');
      if (f.kind.startsWith('reset')) {
        m.proxy.reset();
        return record(`${m.process.name} link`);
      }
      if (f.kind.startsWith('cut')) m.proxy.cut();
      else m.proxy.delay(f.delayMs);
      await sleep(f.durationMs);
      m.proxy.heal();
      return record(`${m.process.name} link${f.kind.startsWith('delay') ? ` +${f.delayMs} ms` : ''}`);
    }
    case 'sentinel-failover': {
      const topo = cluster.sentinels;
      if (!topo) return record('no Sentinel in this mode');
      const sentinel = topo.sentinels[f.target % topo.sentinels.length]!;
      const addr = (): Promise<string> => sentinel.cli('sentinel', 'get-master-addr-by-name', SENTINEL_MASTER);
      const before = await addr();
      const answer = await sentinel.cli('sentinel', 'failover', SENTINEL_MASTER);
      if (answer !== 'OK') return record(`refused: ${answer}`);
      // Bounded: Sentinel promotes within its failover-timeout; report where the master went.
      const deadline = Date.now() + 20_000;
      let after = before;
      while (after === before && Date.now() < deadline) {
        await sleep(100);
        after = await addr();
      }
      const r = record(`master ${before.split('\n').join(':')} -> ${after.split('\n').join(':')}`);
      // The failover is over when the old master follows the new one (Sentinel repoints it ~10 s later).
      // Forcing the next one earlier would make Sentinel "promote" the old master that still runs its own
      // history (the harness's failover-timeout is 2 s; production's 180 s default forbids that).
      const settled = Date.now() + 30_000;
      while (Date.now() < settled && !(await converged(cluster))) await sleep(250);
      return r;
    }
    case 'lease-delete': {
      const deleted = await admin.del(keyLayout(cluster.prefix).leaderLease);
      return record(deleted === 1 ? 'leader lease' : 'leader lease (none held)');
    }
  }
}

/** One data server is master and every other one a replica with its link up. */
async function converged(cluster: NemesisCluster): Promise<boolean> {
  const servers = [cluster.redis, ...(cluster.sentinels?.replicas ?? [])];
  const infos = await Promise.all(servers.map((s) => s.cli('info', 'replication').catch(() => '')));
  const masters = infos.filter((i) => /role:master/.test(i)).length;
  const following = infos.filter((i) => /role:slave/.test(i) && /master_link_status:up/.test(i)).length;
  return masters === 1 && following === servers.length - 1;
}
