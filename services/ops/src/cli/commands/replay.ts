import type { EventEnvelope } from '@agent-bridge/protocol';
import { getRun, readHistory } from '@agent-bridge/redis';
import type { Command } from 'commander';
import { type CliContext, CliExit, printJson, wantsJson, withRedis } from '../context';
import { iso, short } from '../format';

/**
 * `agent-bridge replay <runId> [--after N]`: the committed events of a run after seq N, in order, paged
 * through the history like a client's resume. Exit 1 when the run is unknown; `recovered: false` (and a
 * warning) when events after N were already trimmed.
 */
export function registerReplay(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .description("a run's committed events after a seq, in order (as a resuming client gets them)")
    .argument('<runId>', 'run id')
    .option('-a, --after <seq>', 'only events with seq greater than this', '0')
    .action(async (runId: string, opts: { after: string }, command: Command) => {
      const after = Number(opts.after);
      if (!Number.isInteger(after) || after < 0)
        throw new CliExit(1, `--after must be an integer >= 0, got ${opts.after}`);
      const result = await withRedis(ctx, async ({ conn, keys, config }) => {
        const run = await getRun(conn, keys, runId);
        const events: EventEnvelope[] = [];
        let cursor = after;
        let page = await readHistory(conn, keys, runId, cursor, config.events.replayPageSize);
        const first = page;
        for (;;) {
          events.push(...page.events);
          const last = page.events[page.events.length - 1];
          if (!page.hasMore || !last) break;
          cursor = last.seq;
          page = await readHistory(conn, keys, runId, cursor, config.events.replayPageSize);
        }
        const recovered = first.firstSeq === null ? first.headSeq <= after : first.firstSeq <= after + 1;
        return { run, epoch: first.epoch, headSeq: first.headSeq, firstSeq: first.firstSeq, recovered, events };
      });
      if (!result.run && result.events.length === 0) throw new CliExit(1, `run ${runId} not found`);
      if (wantsJson(command)) {
        printJson(ctx, { runId, afterSeq: after, ...result });
        return;
      }
      ctx.out(
        `run ${runId}  owner ${result.run?.owner ?? '-'}  status ${result.run?.status ?? '-'}  epoch ${result.epoch}  head ${result.headSeq}\n`,
      );
      if (!result.recovered)
        ctx.err(`warning: events after seq ${after} were trimmed; history starts at ${result.firstSeq ?? '-'}\n`);
      for (const e of result.events)
        ctx.out(`${String(e.seq).padStart(6)}  ${iso(e.ts)}  ${e.type.padEnd(16)} ${short(e.payload)}\n`);
      ctx.out(`${result.events.length} event(s)\n`);
    });
}
