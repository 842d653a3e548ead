import type { MemberView } from '@agent-bridge/control-plane';
import { queueRow } from '@agent-bridge/control-plane/queue-row';
import type { Command } from 'commander';
import { type CliContext, printJson, wantsJson, withRedis } from '../context';
import { ago, duration, iso, table } from '../format';
import type { OpsStatus } from '../../status/status-reader';

function members(list: MemberView[]): string {
  if (list.length === 0) return '  (none)\n';
  return table(
    ['id', 'host', 'pid', 'alive', 'last seen', 'info'],
    list.map((m) => [m.id, m.host, m.pid, m.alive ? 'yes' : 'NO', ago(m.lastSeenAgoMs), JSON.stringify(m.info)]),
  );
}

/** The human form of an {@link OpsStatus}. */
function renderStatus(s: OpsStatus): string {
  const state = s.integration?.state ?? 'UNINITIALIZED';
  const parts = [
    `integration  ${state}${s.integration ? `  since ${iso(s.integration.since)}  (${s.integration.reason})` : '  (no state published yet)'}`,
    `leader       ${s.leader.id ?? 'none'}  epoch ${s.leader.epoch ?? '-'}  lease left ${duration(s.leader.leaseRemainingMs)}`,
    `health       ${s.health ? `checked ${ago(s.healthAgeMs)}` : 'no health check published yet'}`,
    '',
    `replicas (${s.replicas.filter((m) => m.alive).length} alive)`,
    members(s.replicas),
    `gateways (${s.gateways.filter((m) => m.alive).length} alive)`,
    members(s.gateways),
    'queues',
    table(
      ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed', 'lag'],
      s.queues.map((q) => queueRow(q, duration)),
    ),
    'recent transitions',
    s.transitions.length === 0
      ? '  (none)\n'
      : table(
          ['at', 'from', 'to', 'leader', 'epoch', 'reason'],
          s.transitions.map((t) => [iso(t.at), t.from, t.to, t.leaderId, t.epoch, t.reason]),
        ),
  ];
  if (s.failures.length > 0) {
    parts.push(
      'recent failures',
      table(
        ['at', 'source', 'queue', 'job', 'reason'],
        s.failures.map((f) => [iso(f.at), f.source, f.queue, f.jobId, f.reason]),
      ),
    );
  }
  return parts.join('\n');
}

/** `agent-bridge status`: the whole picture, read from Redis. Exit 0 when it could be read. */
export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('integration state, leader, replicas, gateways, queues and recent transitions (read from Redis)')
    .action(async (_opts: unknown, command: Command) => {
      const status = await withRedis(ctx, ({ reader }) => reader.status());
      if (wantsJson(command)) printJson(ctx, status);
      else ctx.out(renderStatus(status));
    });
}
