import type { Command } from 'commander';
import { type CliContext, printJson, wantsJson, withRedis } from '../context';
import { iso, table } from '../format';

/** `agent-bridge runs [--user <id>] [--limit <n>]`: runs newest first. */
export function registerRuns(program: Command, ctx: CliContext): void {
  program
    .command('runs')
    .description('runs from the run registry, newest first')
    .option('-u, --user <userId>', "only this user's runs")
    .option('-n, --limit <n>', 'most runs shown', '50')
    .action(async (opts: { user?: string; limit: string }, command: Command) => {
      const limit = Number(opts.limit);
      const runs = await withRedis(ctx, ({ reader }) =>
        reader.runs(opts.user === undefined ? { limit } : { userId: opts.user, limit }),
      );
      if (wantsJson(command)) {
        printJson(ctx, { runs });
        return;
      }
      if (runs.length === 0) {
        ctx.out('no runs\n');
        return;
      }
      ctx.out(
        table(
          ['run', 'owner', 'agent', 'status', 'events', 'created', 'updated'],
          runs.map((r) => [r.runId, r.owner, r.agent, r.status, r.headSeq, iso(r.createdAt), iso(r.updatedAt)]),
        ),
      );
    });
}
