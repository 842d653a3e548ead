import { Command } from 'commander';
import { type LauncherFlags, addLauncherOptions, runLauncher } from '../../launcher/run';
import type { CliContext } from '../context';

/**
 * `agent-bridge up [--replicas N] [--gateways M]`: the whole cluster on this machine, as `npm start` runs
 * it — an embedded redis-server unless REDIS_URL (or --redis-url) is set, N bridge replicas, M gateways,
 * ops and the demo agent, with prefixed logs; prints the URLs once the integration is ACTIVE and stops
 * everything on Ctrl-C. Runs the services from TypeScript sources, so it needs the repository checkout.
 */
export function registerUp(program: Command, _ctx: CliContext): void {
  program.addCommand(
    addLauncherOptions(
      new Command('up').description(
        'run the whole cluster on this machine (embedded Redis, replicas, gateways, ops, demo agent)',
      ),
    ).action(async (flags: LauncherFlags) => {
      await runLauncher(flags);
    }),
  );
}
