// Entry of `npm start` (scripts/start.mjs runs it from source through tsx): the whole cluster on this
// machine. `agent-bridge up` is the same thing in the CLI.
import { Command } from 'commander';
import { type LauncherFlags, addLauncherOptions, runLauncher } from './run';

const program = addLauncherOptions(
  new Command('npm start').description('Run the whole agent-bridge cluster on this machine.'),
).action(async (flags: LauncherFlags) => {
  await runLauncher(flags);
});

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
