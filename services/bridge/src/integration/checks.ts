import type { AppConfig } from '@agent-bridge/config';
import { type CheckResult, IntegrationState, type MemberRecord, type QueueStats } from '@agent-bridge/protocol';
import { type RedisConnection, checkRedis } from '@agent-bridge/redis';

/** What a single check found, before timing is added. */
export interface CheckFinding {
  severity: CheckResult['severity'];
  detail: string;
}

/** Names of the checks, as they appear in HealthStatus / IntegrationResult. */
export const CheckName = {
  Redis: 'redis',
  Queues: 'queues',
  Replicas: 'replicas',
  Gateways: 'gateways',
  Probe: 'probe',
  Lease: 'lease',
} as const;

/** Runs `fn` and turns its finding (or its error: severity fail) into a timed CheckResult. */
export async function timed(name: string, fn: () => Promise<CheckFinding>): Promise<CheckResult> {
  const started = performance.now();
  let finding: CheckFinding;
  try {
    finding = await fn();
  } catch (err) {
    finding = { severity: 'fail', detail: err instanceof Error ? err.message : String(err) };
  }
  return {
    name,
    ok: finding.severity !== 'fail',
    severity: finding.severity,
    latencyMs: Math.round((performance.now() - started) * 10) / 10,
    detail: finding.detail,
  };
}

/** Redis reachable (PING) and correctly configured (version, noeviction). */
export async function redisFinding(conn: RedisConnection, config: AppConfig): Promise<CheckFinding> {
  // Rejects when Redis does not answer (the check then fails, see timed()); an answer is always PONG.
  await conn.ping();
  const report = await checkRedis(conn, config);
  const base = `redis ${report.version} (${report.mode}), maxmemory-policy ${report.maxmemoryPolicy ?? 'unknown'}`;
  return report.warnings.length > 0
    ? { severity: 'warn', detail: `${base}; ${report.warnings.join('; ')}` }
    : { severity: 'ok', detail: base };
}

/**
 * Any events queue (partition) paused → fail (its runs' events cannot flow); lag over the threshold on any
 * → warn; control queue paused → warn. The summary adds the partitions up and names the laggiest.
 */
export function queuesFinding(events: readonly QueueStats[], control: QueueStats, config: AppConfig): CheckFinding {
  const waiting = events.reduce((n, q) => n + q.waiting, 0);
  const active = events.reduce((n, q) => n + q.active, 0);
  const worst = events.reduce<QueueStats | null>((w, q) => (w === null || q.lagMs > w.lagMs ? q : w), null);
  const only = events.length === 1 ? events[0] : undefined;
  const name = only ? only.name : `${events.length} event queues`;
  const lag = worst ? `lag ${worst.lagMs} ms${events.length > 1 ? ` (${worst.name})` : ''}` : 'lag 0 ms';
  const summary = `${name}: ${waiting} waiting, ${active} active, ${lag}`;
  const paused = events.filter((q) => q.paused);
  if (paused.length > 0) {
    return { severity: 'fail', detail: `queue ${paused.map((q) => q.name).join(', ')} is paused; ${summary}` };
  }
  if (worst && worst.lagMs > config.health.queueLagWarnMs) {
    return { severity: 'warn', detail: `lag over ${config.health.queueLagWarnMs} ms; ${summary}` };
  }
  if (control.paused) return { severity: 'warn', detail: `control queue ${control.name} is paused; ${summary}` };
  return { severity: 'ok', detail: summary };
}

/** Bridge replicas whose event workers run: none → fail, fewer than minReplicas → warn. */
export function replicasFinding(replicas: MemberRecord[], config: AppConfig): CheckFinding {
  const running = replicas.filter((r) => r.info['workersRunning'] === true);
  const detail = `${running.length}/${replicas.length} live replicas with running event workers (min ${config.health.minReplicas})`;
  if (running.length === 0) return { severity: 'fail', detail };
  if (running.length < config.health.minReplicas) return { severity: 'warn', detail };
  return { severity: 'ok', detail };
}

/** Live gateways: none → fail, fewer than minGateways → warn. */
export function gatewaysFinding(gateways: MemberRecord[], config: AppConfig): CheckFinding {
  const detail = `${gateways.length} live gateways (min ${config.health.minGateways})${
    gateways.length > 0 ? `: ${gateways.map((g) => g.id).join(', ')}` : ''
  }`;
  if (gateways.length === 0) return { severity: 'fail', detail };
  if (gateways.length < config.health.minGateways) return { severity: 'warn', detail };
  return { severity: 'ok', detail };
}

/** Any failing check → FAILED; any warning → DEGRADED; else ACTIVE. */
export function deriveState(checks: readonly CheckResult[]): IntegrationState {
  if (checks.some((c) => c.severity === 'fail')) return IntegrationState.Failed;
  if (checks.some((c) => c.severity === 'warn')) return IntegrationState.Degraded;
  return IntegrationState.Active;
}

/** The checks that are out of bounds. */
export function failingChecks(checks: readonly CheckResult[]): CheckResult[] {
  return checks.filter((c) => c.severity !== 'ok');
}

/** One line naming the failing checks (or "all checks ok"). */
export function summarize(checks: readonly CheckResult[]): string {
  const bad = failingChecks(checks);
  if (bad.length === 0) return 'all checks ok';
  return bad.map((c) => `${c.name} ${c.severity}: ${c.detail}`).join('; ');
}
