import { type EventEnvelope, TERMINAL_EVENT_TYPES, isTerminalRunStatus } from '@agent-bridge/protocol';
import { connect } from '@agent-bridge/client';
import { signToken } from '@agent-bridge/auth';
import { getRun } from '@agent-bridge/redis';
import type { Command } from 'commander';
import { type CliContext, CliExit, wantsJson, withRedis } from '../context';
import { iso, short } from '../format';

interface TailOptions {
  gateway?: string;
  token?: string;
  after: string;
  follow?: boolean;
}

/**
 * `agent-bridge tail <runId>`: a run live in the terminal through the client SDK, so it gets what a browser
 * gets — every event once, in seq order, resumed after a reconnect (another gateway, or the same one back).
 * Reads the run's owner from the registry and signs a short-lived token for them with `AB_JWT_SECRET`
 * (renewed on every reconnect), unless `--token` is given. Exits 0 when the run ends.
 */
export function registerTail(program: Command, ctx: CliContext): void {
  program
    .command('tail')
    .description('show a run live (through a gateway, resuming across reconnects) until it ends')
    .argument('<runId>', 'run id')
    .option('-g, --gateway <urls>', 'gateway URL(s), comma-separated (default: the registered gateways)')
    .option('-t, --token <jwt>', "a token of the run's owner (default: one signed with AB_JWT_SECRET)")
    .option('-a, --after <seq>', 'start after this seq', '0')
    .option('-f, --follow', 'keep following after the run ended (until Ctrl-C)')
    .action(async (runId: string, opts: TailOptions, command: Command) => {
      const after = Number(opts.after);
      if (!Number.isInteger(after) || after < 0)
        throw new CliExit(1, `--after must be an integer >= 0, got ${opts.after}`);
      const found = await withRedis(ctx, async ({ conn, keys, config, reader }) => {
        const run = await getRun(conn, keys, runId);
        const gateways = (await reader.members('gateway'))
          .filter((m) => m.alive && typeof m.info['port'] === 'number')
          .map((m) => `http://${m.host}:${String(m.info['port'])}`);
        return { run, gateways, auth: config.auth };
      });
      if (!found.run) throw new CliExit(1, `run ${runId} not found`);
      const owner = found.run.owner;
      const urls = opts.gateway ? opts.gateway.split(',').map((u) => u.trim()) : found.gateways;
      if (urls.length === 0) throw new CliExit(1, 'no gateway registered: give one with --gateway http://host:port');
      const fixed = opts.token;
      // A token lives 5 minutes; the SDK asks for a new one on each reconnect and before it expires.
      const token = fixed !== undefined ? fixed : () => signToken(owner, found.auth, 5 * 60_000);
      const json = wantsJson(command);
      await tail(ctx, runId, urls, token, after, json, opts.follow === true);
    });
}

async function tail(
  ctx: CliContext,
  runId: string,
  urls: string[],
  token: string | (() => Promise<string>),
  afterSeq: number,
  json: boolean,
  follow: boolean,
): Promise<void> {
  const client = connect(urls, { token, reconnectDelayMaxMs: 2_000 });
  let lastState = '';
  client.onState((state) => {
    // Connection changes go to stderr so stdout stays the run's events.
    if (state !== lastState) ctx.err(`[${state}${state === 'connected' ? ` ${client.url}` : ''}]\n`);
    lastState = state;
  });
  const print = (e: EventEnvelope): void =>
    ctx.out(
      json
        ? `${JSON.stringify(e)}\n`
        : `${String(e.seq).padStart(6)}  ${iso(e.ts)}  ${e.type.padEnd(16)} ${short(e.payload)}\n`,
    );
  let stop = (): void => undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      stop = () => resolve();
      process.once('SIGINT', stop);
      const sub = client.subscribe(
        runId,
        (event) => {
          print(event);
          if (!follow && TERMINAL_EVENT_TYPES.has(event.type)) resolve();
        },
        {
          afterSeq,
          onReset: (info) => ctx.err(`[history reset: epoch ${info.epoch}, restarting from the oldest event kept]\n`),
          onError: reject,
        },
      );
      sub.ready.then((info) => {
        if (!follow && isTerminalRunStatus(info.status) && info.headSeq <= afterSeq) resolve();
      }, reject);
    });
  } catch (err) {
    throw new CliExit(1, `tail ${runId}: ${(err as Error).message}`);
  } finally {
    process.off('SIGINT', stop);
    client.close();
  }
}
