import { AgentBridgeError } from '@agent-bridge/protocol';
import type { Command } from 'commander';
import { DeadLetters } from '../../dlq/dead-letters';
import { type CliContext, CliExit, printJson, wantsJson, withRedis } from '../context';
import { iso, table } from '../format';

/** Runs `fn` with the dead-letter queue; a typed error (not found, read-only, …) ends with exit 1 and its message. */
async function withDeadLetters<T>(ctx: CliContext, fn: (dlq: DeadLetters) => Promise<T>): Promise<T> {
  return withRedis(ctx, async ({ config, keys, conn }) => {
    const dlq = new DeadLetters(config, keys, conn);
    try {
      return await fn(dlq);
    } catch (err) {
      if (err instanceof AgentBridgeError) throw new CliExit(1, `${err.code}: ${err.message}`);
      throw err;
    } finally {
      await dlq.close();
    }
  });
}

/**
 * `agent-bridge dlq ls|show|requeue`: the dead-letter queue, through the same module as the status page
 * ({@link DeadLetters}). `requeue` obeys AB_OPS_READ_ONLY like the page: refused (exit 1) while it is true.
 */
export function registerDlq(program: Command, ctx: CliContext): void {
  const dlq = program.command('dlq').description('the dead-letter queue: rejected events and jobs with their reasons');

  dlq
    .command('ls')
    .description('dead letters, newest first')
    .option('-n, --limit <n>', 'most records shown', '50')
    .option('--offset <n>', 'skip this many of the newest', '0')
    .action(async (opts: { limit: string; offset: string }, command: Command) => {
      const limit = Number(opts.limit);
      const offset = Number(opts.offset);
      if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0) {
        throw new CliExit(2, 'error: --limit must be a positive integer and --offset a non-negative one');
      }
      const res = await withDeadLetters(ctx, (d) => d.list({ limit, offset }));
      if (wantsJson(command)) {
        printJson(ctx, res);
        return;
      }
      if (res.total === 0) {
        ctx.out('no dead letters\n');
        return;
      }
      ctx.out(
        table(
          ['id', 'at', 'job', 'run', 'seq', 'code', 'reason'],
          res.records.map((r) => [
            r.id,
            iso(r.deadLetteredAt),
            r.jobId,
            r.runId,
            r.seq,
            r.reason.code,
            r.reason.message,
          ]),
        ),
      );
      if (res.records.length < res.total) ctx.out(`${res.records.length} of ${res.total} shown\n`);
    });

  dlq
    .command('show')
    .description('one dead letter in full: the rejected data and the reason with its details')
    .argument('<id>', 'record id (first column of `dlq ls`)')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const rec = await withDeadLetters(ctx, (d) => d.get(id));
      if (wantsJson(command)) {
        printJson(ctx, rec);
        return;
      }
      const lines = [
        ['id', rec.id],
        ['at', iso(rec.deadLetteredAt)],
        [
          'from',
          `${rec.queue} job ${rec.jobId ?? '-'} (${rec.name})${rec.batchIndex === null ? '' : ` #${rec.batchIndex}`}`,
        ],
        ['run', rec.runId === null ? '-' : `${rec.runId} seq ${rec.seq ?? '-'}`],
        ['reason', `${rec.reason.code}: ${rec.reason.message}`],
      ];
      for (const [k, v] of lines) ctx.out(`${(k ?? '').padEnd(7)}${v ?? ''}\n`);
      if (rec.reasonDetails !== undefined) ctx.out(`details ${JSON.stringify(rec.reasonDetails)}\n`);
      ctx.out(`data\n${JSON.stringify(rec.data, null, 2)}\n`);
    });

  dlq
    .command('requeue')
    .description('put a dead letter back on the events queue (refused while AB_OPS_READ_ONLY=true)')
    .argument('<id>', 'record id (first column of `dlq ls`)')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const res = await withDeadLetters(ctx, (d) => d.requeue(id));
      if (wantsJson(command)) printJson(ctx, res);
      else ctx.out(`requeued ${res.id} as ${res.name} job ${res.jobId} on ${res.queue}\n`);
    });
}
