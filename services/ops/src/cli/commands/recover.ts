import { hostname } from 'node:os';
import { IntegrationStateReader, RecoveryQueue, incidentIdFor } from '@agent-bridge/control-plane';
import type { Command } from 'commander';
import { type CliContext, CliExit, printJson, wantsJson, withRedis } from '../context';

/**
 * `agent-bridge recover [--reason <text>] [--wait]`: enqueues a recovery job on the control queue through
 * the control plane's {@link RecoveryQueue} (one job per incident, attempts and backoff from config); the leader
 * runs it. `enqueued: false` means a recovery of this incident is already in flight. With `--wait`, waits for
 * the job to finish and exits 1 if it failed.
 */
export function registerRecover(program: Command, ctx: CliContext): void {
  program
    .command('recover')
    .description('enqueue a recovery job (as recoverIntegration() does); the leader runs it with retries')
    .option('-r, --reason <text>', 'why (recorded in the job)', 'requested from the CLI')
    .option('-w, --wait', 'wait until the job completed or failed')
    .option('--timeout <ms>', 'give up waiting after this long', '60000')
    .action(async (opts: { reason: string; wait?: boolean; timeout: string }, command: Command) => {
      const result = await withRedis(ctx, async ({ config, keys, conn }) => {
        const reader = new IntegrationStateReader({ connection: conn, keys, subscriber: conn });
        const recovery = new RecoveryQueue(config, conn, keys.bullPrefix);
        try {
          const current = await reader.current();
          const res = await recovery.request(incidentIdFor(current), opts.reason, `cli@${hostname()}`);
          let outcome: string | null = null;
          if (opts.wait) {
            const deadline = Date.now() + Number(opts.timeout);
            for (;;) {
              outcome = await recovery.queue.getJobState(res.jobId);
              if (outcome === 'completed' || outcome === 'failed' || Date.now() > deadline) break;
              await new Promise((r) => setTimeout(r, 200));
            }
          }
          return { ...res, stateBefore: current.state, outcome };
        } finally {
          await recovery.close();
        }
      });
      if (wantsJson(command)) printJson(ctx, result);
      else {
        ctx.out(
          result.enqueued
            ? `recovery enqueued: incident ${result.incidentId}, job ${result.jobId} (state was ${result.stateBefore})\n`
            : `recovery already in flight for incident ${result.incidentId} (job ${result.jobId})\n`,
        );
        if (result.outcome) ctx.out(`job ${result.outcome}\n`);
      }
      if (opts.wait && result.outcome !== 'completed') {
        throw new CliExit(1, `recovery job ${result.jobId} did not complete (${result.outcome ?? 'unknown'})`);
      }
    });
}
