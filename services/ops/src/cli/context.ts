import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type KeyLayout, keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import type { Command } from 'commander';
import { StatusReader } from '../status/status-reader';

/** Where a command writes, and how it reads configuration (tests pass their own). */
export interface CliContext {
  /** Standard output (results). */
  out(text: string): void;
  /** Standard error (diagnostics). */
  err(text: string): void;
  /** Environment the configuration is read from. @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Thrown by a command to end with a message and an exit code (no stack trace printed). */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message = '',
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

/** The configuration of the installation the CLI talks to (same variables as the services). */
export function cliConfig(ctx: CliContext): AppConfig {
  return loadConfig(ctx.env === undefined ? {} : { env: ctx.env });
}

/** Whether `--json` was given (a program-level option, accepted before or after the command). */
export function wantsJson(command: Command): boolean {
  return Boolean(command.optsWithGlobals<{ json?: boolean }>().json);
}

/** Writes `value` as JSON (one document, pretty-printed). */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** Runs `fn` with a Redis connection and a status reader, and closes both whatever happens. */
export async function withRedis<T>(
  ctx: CliContext,
  fn: (io: { config: AppConfig; keys: KeyLayout; conn: RedisConnection; reader: StatusReader }) => Promise<T>,
): Promise<T> {
  const config = cliConfig(ctx);
  const keys = keyLayout(config.keyPrefix);
  // Fail fast when Redis is unreachable: a CLI must not hang retrying forever.
  const conn = createRedis(config, 'command', { name: 'agent-bridge-cli' });
  conn.on('error', () => undefined);
  let reader: StatusReader | null = null;
  try {
    try {
      await Promise.race([
        conn.ping(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('connect timeout')), config.redis.connectTimeoutMs).unref(),
        ),
      ]);
    } catch (err) {
      throw new CliExit(1, `cannot connect to Redis (${describeUrl(config)}): ${(err as Error).message}`);
    }
    reader = new StatusReader(config, keys, conn);
    return await fn({ config, keys, conn, reader });
  } finally {
    await reader?.close();
    await closeRedis(conn);
  }
}

function describeUrl(config: AppConfig): string {
  if (config.redis.mode === 'cluster') return `cluster ${config.redis.clusterNodes.join(',')}`;
  if (config.redis.mode === 'sentinel') return `sentinel ${config.redis.sentinelName}`;
  try {
    const u = new URL(config.redis.url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'REDIS_URL';
  }
}
