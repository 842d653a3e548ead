import type { Command } from 'commander';
import { type Finding, runDoctor } from '../../doctor/doctor';
import { type CliContext, CliExit, printJson, wantsJson, withRedis } from '../context';

const LABEL: Record<Finding['level'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: '-   ' };

/** Renders findings as aligned lines, each problem followed by what to do. */
function renderFindings(findings: readonly Finding[]): string {
  const width = Math.max(...findings.map((f) => f.check.length));
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`  ${LABEL[f.level]}  ${f.check.padEnd(width)}  ${f.detail}`);
    if (f.fix && f.level !== 'ok') lines.push(`  ${' '.repeat(6 + width)}  fix: ${f.fix}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `agent-bridge doctor`: checks the deployment this configuration points at (Redis and the services that
 * registered in it) and prints what to fix. Exit 1 when a check failed (or, with `--strict`, warned).
 */
export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description(
      "check a deployment's Redis (version, eviction, AOF, ACL, cluster slots) and services; print what to fix",
    )
    .option('--strict', 'exit 1 on warnings too')
    .action(async (opts: { strict?: boolean }, command: Command) => {
      const { findings, prefix } = await withRedis(ctx, async (io) => ({
        findings: await runDoctor(io),
        prefix: io.config.keyPrefix,
      }));
      const problems = findings.filter((f) => f.level === 'fail').length;
      const warnings = findings.filter((f) => f.level === 'warn').length;
      if (wantsJson(command)) {
        printJson(ctx, { keyPrefix: prefix, problems, warnings, findings });
      } else {
        ctx.out(`agent-bridge doctor (key prefix "${prefix}")\n`);
        ctx.out(renderFindings(findings));
        ctx.out(
          problems + warnings === 0
            ? 'no problems found\n'
            : `${problems} problem(s), ${warnings} warning(s)${problems > 0 ? ': fix the FAIL lines first' : ''}\n`,
        );
      }
      if (problems > 0 || (opts.strict === true && warnings > 0)) throw new CliExit(1);
    });
}
