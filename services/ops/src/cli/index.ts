import { ConfigError } from '@agent-bridge/protocol';
import { Command, CommanderError } from 'commander';
import { registerConfig } from './commands/config';
import { registerDlq } from './commands/dlq';
import { registerDoctor } from './commands/doctor';
import { registerHealth } from './commands/health';
import { registerRecover } from './commands/recover';
import { registerReplay } from './commands/replay';
import { registerRuns } from './commands/runs';
import { registerStatus } from './commands/status';
import { registerTail } from './commands/tail';
import { registerUp } from './commands/up';
import { type CliContext, CliExit } from './context';

/**
 * The `agent-bridge` command line. One file per command in `./commands`, each exporting
 * `register<Name>(program, ctx)`; add a command with one line below.
 */
function createProgram(ctx: CliContext): Command {
  const program = new Command('agent-bridge')
    .description('operate an agent-bridge installation (reads the same configuration as the services)')
    .option('--json', 'machine-readable JSON output')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) });
  registerStatus(program, ctx);
  registerHealth(program, ctx);
  registerRecover(program, ctx);
  registerRuns(program, ctx);
  registerReplay(program, ctx);
  registerTail(program, ctx);
  registerDoctor(program, ctx);
  registerConfig(program, ctx);
  registerUp(program, ctx);
  registerDlq(program, ctx);
  return program;
}

/** Runs the CLI with `argv` (user arguments only, without node and script); resolves with the exit code. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = createProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CliExit) {
      if (err.message) ctx.err(`${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError) {
      ctx.err(`${err.message}\n`);
      return 1;
    }
    ctx.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
