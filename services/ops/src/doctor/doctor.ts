import type { AppConfig } from '@agent-bridge/config';
import type { RedisConnection } from '@agent-bridge/redis';
import type { StatusReader } from '../status/status-reader';
import { type RedisNode, checkAcl, checkCluster, checkNode, redisNodes } from './redis-checks';

/** `fail`: the deployment loses or blocks events as it is; `warn`: works, but should be fixed. */
export type FindingLevel = 'ok' | 'warn' | 'fail' | 'skip';

/** One check of `agent-bridge doctor`: what was found, and what to do about it. */
export interface Finding {
  check: string;
  level: FindingLevel;
  detail: string;
  fix?: string;
}

/** What the doctor is given: the CLI's connection and status reader (it only reads). */
export interface DoctorInput {
  config: AppConfig;
  conn: RedisConnection;
  reader: StatusReader;
}

/**
 * Checks a deployment: every Redis master (version, `maxmemory-policy noeviction`, AOF), the ACL users, slot
 * coverage of a Redis Cluster, then the services as they registered themselves (bridge replicas, gateways,
 * the leader, the published integration state, queue lag). Read-only.
 */
export async function runDoctor({ config, conn, reader }: DoctorInput): Promise<Finding[]> {
  const findings: Finding[] = [];
  const nodes: RedisNode[] = redisNodes(conn);
  for (const node of nodes) findings.push(...(await checkNode(node, nodes.length > 1)));
  findings.push(...(await checkAcl(conn, config)));
  findings.push(...(await checkCluster(conn, config, nodes)));
  findings.push(...(await checkServices(config, reader)));
  return findings;
}

async function checkServices(config: AppConfig, reader: StatusReader): Promise<Finding[]> {
  const out: Finding[] = [];
  const [bridges, gateways, leader, integration, queues] = await Promise.all([
    reader.members('bridge'),
    reader.members('gateway'),
    reader.leader(),
    reader.integration(),
    reader.queueStats(),
  ]);
  const members = (role: 'bridge' | 'gateway', list: typeof bridges, min: number, start: string): void => {
    const alive = list.filter((m) => m.alive);
    const dead = list.length - alive.length;
    const named = `${alive.length} alive${dead > 0 ? `, ${dead} dead not yet removed` : ''}`;
    if (alive.length === 0) {
      out.push({ check: `${role}s registered`, level: 'fail', detail: `none heartbeating (${named})`, fix: start });
    } else if (alive.length < min) {
      out.push({
        check: `${role}s registered`,
        level: 'warn',
        detail: `${named}, fewer than the ${min} the health check wants`,
        fix: `start more, or lower ${role === 'bridge' ? 'AB_HEALTH_MIN_REPLICAS' : 'AB_HEALTH_MIN_GATEWAYS'}`,
      });
    } else {
      out.push({ check: `${role}s registered`, level: 'ok', detail: `${named}: ${alive.map((m) => m.id).join(', ')}` });
    }
  };
  members('bridge', bridges, config.health.minReplicas, 'start the bridge service (node services/bridge/dist/main.js)');
  members(
    'gateway',
    gateways,
    config.health.minGateways,
    'start the gateway service (node services/gateway/dist/main.js)',
  );

  if (leader.id === null) {
    out.push({
      check: 'leader',
      level: 'fail',
      detail: 'no leader holds the lease',
      fix: 'a bridge replica elects itself within seconds; if none runs, start one (see the bridges check)',
    });
  } else {
    out.push({ check: 'leader', level: 'ok', detail: `${leader.id}, epoch ${leader.epoch ?? '-'}` });
  }

  if (integration === null) {
    out.push({
      check: 'integration state',
      level: 'fail',
      detail: 'never published (no leader has run its first health check)',
      fix: 'start a bridge replica; the leader publishes the state after its first check',
    });
  } else if (integration.state === 'ACTIVE') {
    out.push({ check: 'integration state', level: 'ok', detail: 'ACTIVE' });
  } else {
    const failing = integration.failingChecks.map((c) => `${c.name}: ${c.detail}`).join('; ');
    out.push({
      check: 'integration state',
      level: integration.state === 'DEGRADED' ? 'warn' : 'fail',
      detail: `${integration.state} since ${new Date(integration.since).toISOString()} (${integration.reason})`,
      fix: failing ? `failing checks: ${failing}` : 'agent-bridge health shows the last check in full',
    });
  }

  for (const q of queues) {
    if (q.lagMs > config.health.queueLagWarnMs) {
      out.push({
        check: `queue ${q.name}`,
        level: 'warn',
        detail: `oldest waiting job ${Math.round(q.lagMs)} ms old, ${q.waiting} waiting`,
        fix: 'consumers are behind: more bridge replicas (events) or agents (runs), or look for a stuck worker',
      });
    }
  }
  return out;
}
