import { writeFileSync } from 'node:fs';
import { explainConfig, redactConfig } from '@agent-bridge/config';
import type { Command } from 'commander';
import { type CliContext, cliConfig, printJson, wantsJson } from '../context';
import { renderConfigDoc } from '../config-doc';
import { table } from '../format';

function flatten(value: unknown, prefix = ''): [string, unknown][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [[prefix, value]];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    flatten(v, prefix ? `${prefix}.${k}` : k),
  );
}

function show(value: unknown): string {
  if (value === undefined) return '-';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * `agent-bridge config`: the effective configuration (environment + AB_CONFIG_FILE + defaults), secrets
 * redacted; exit 1 with the invalid keys when it does not validate. `--explain` lists every key with its
 * variable, default and description; `--write-docs <file>` writes docs/configuration.md.
 */
export function registerConfig(program: Command, ctx: CliContext): void {
  program
    .command('config')
    .description('effective configuration (secrets redacted); --explain lists every key with default and description')
    .option('--explain', 'every key with its environment variable, default and description')
    .option('--write-docs <file>', 'write the Markdown reference (docs/configuration.md) to <file>')
    .action((opts: { explain?: boolean; writeDocs?: string }, command: Command) => {
      if (opts.writeDocs) {
        writeFileSync(opts.writeDocs, renderConfigDoc());
        ctx.err(`wrote ${opts.writeDocs}\n`);
        return;
      }
      if (opts.explain) {
        const rows = explainConfig();
        if (wantsJson(command)) printJson(ctx, rows);
        else
          ctx.out(
            table(
              ['key', 'env', 'default', 'description'],
              rows.map((r) => [r.key, r.env, show(r.default), r.description]),
            ),
          );
        return;
      }
      const config = redactConfig(cliConfig(ctx));
      if (wantsJson(command)) printJson(ctx, config);
      else
        ctx.out(
          table(
            ['key', 'value'],
            flatten(config).map(([k, v]) => [k, show(v)]),
          ),
        );
    });
}
