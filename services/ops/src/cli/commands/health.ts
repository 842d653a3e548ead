import type { HealthStatus, IntegrationState } from '@agent-bridge/protocol';
import type { Command } from 'commander';
import { type CliContext, CliExit, printJson, wantsJson, withRedis } from '../context';
import { ago, table } from '../format';

/** Exit code of `agent-bridge health` for a state: 0 ACTIVE, 2 DEGRADED, 1 anything else (or stale/missing). */
function healthExitCode(state: IntegrationState | null, stale: boolean): number {
  if (state === null || stale) return 1;
  if (state === 'ACTIVE') return 0;
  if (state === 'DEGRADED') return 2;
  return 1;
}

/**
 * `agent-bridge health`: the leader's last published health check. Exit 0 ACTIVE, 2 DEGRADED, 1 FAILED /
 * not initialised / no check younger than `--max-age` (a dead leader publishes none).
 */
export function registerHealth(program: Command, ctx: CliContext): void {
  program
    .command('health')
    .description('the last health check published by the leader; exit 0 ACTIVE, 2 DEGRADED, 1 otherwise')
    .option('--max-age <ms>', 'a check older than this counts as stale (default: 5 x AB_HEALTH_INTERVAL_MS)')
    .action(async (opts: { maxAge?: string }, command: Command) => {
      const { health, state, maxAgeMs } = await withRedis(ctx, async ({ reader, config }) => ({
        health: await reader.health(),
        state: (await reader.integration())?.state ?? null,
        maxAgeMs: opts.maxAge !== undefined ? Number(opts.maxAge) : 5 * config.health.intervalMs,
      }));
      const ageMs = health ? Date.now() - health.checkedAt : null;
      const stale = ageMs === null || !(ageMs <= maxAgeMs);
      const code = healthExitCode(state, stale);
      if (wantsJson(command)) {
        printJson(ctx, { ok: code === 0, state, stale, ageMs, health });
      } else {
        ctx.out(render(health, state, ageMs, stale));
      }
      if (code !== 0) throw new CliExit(code);
    });
}

function render(h: HealthStatus | null, state: IntegrationState | null, ageMs: number | null, stale: boolean): string {
  if (!h) return `state ${state ?? 'UNINITIALIZED'}; no health check published yet (is a bridge running?)\n`;
  const head = `state ${state ?? h.state}  checked ${ago(ageMs)}${stale ? '  (STALE)' : ''}  leader ${h.leader.leaderId ?? 'none'} epoch ${h.leader.epoch ?? '-'}\n`;
  return (
    head +
    table(
      ['check', 'result', 'latency', 'detail'],
      h.checks.map((c) => [c.name, c.severity.toUpperCase(), `${c.latencyMs} ms`, c.detail]),
    )
  );
}
