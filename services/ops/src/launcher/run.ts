import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { RedisNotInstalledError } from './embedded-redis';
import { Launcher } from './launcher';
import { type OutputSink, paint } from './output';

/** Parsed flags of `agent-bridge up` / `npm start`. */
export interface LauncherFlags {
  replicas: number;
  gateways: number;
  redisUrl?: string;
  stateDir?: string;
  demoAgent: boolean;
  readyTimeoutMs: number;
  gatewayPort: number;
  opsPort: number;
  bridgePort: number;
  redisPort: number;
  maxRestarts: number;
  restartDelayMs: number;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number ≥ 0, got "${value}"`);
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive whole number, got "${value}"`);
  return n;
}

/** Adds the launcher's flags to a commander command (shared by `npm start` and `agent-bridge up`). */
export function addLauncherOptions(command: Command): Command {
  return command
    .addOption(new Option('-r, --replicas <n>', 'bridge replicas to start').argParser(positiveInt).default(2))
    .addOption(new Option('-g, --gateways <n>', 'gateways to start').argParser(positiveInt).default(2))
    .addOption(
      new Option('--redis-url <url>', 'use this Redis instead of starting an embedded redis-server').env('REDIS_URL'),
    )
    .addOption(new Option('--state-dir <dir>', 'folder of the embedded Redis data (default: <repo>/.state)'))
    .addOption(new Option('--no-demo-agent', 'do not start the demo agent'))
    .addOption(new Option('--gateway-port <port>', 'first gateway port').argParser(positiveInt).default(8080))
    .addOption(new Option('--ops-port <port>', 'ops port').argParser(positiveInt).default(8070))
    .addOption(new Option('--bridge-port <port>', 'first bridge replica port').argParser(positiveInt).default(8090))
    .addOption(new Option('--redis-port <port>', 'embedded Redis port').argParser(positiveInt).default(16379))
    .addOption(
      new Option('--ready-timeout-ms <ms>', 'how long to wait for the integration to become ACTIVE')
        .argParser(positiveInt)
        .default(120_000),
    )
    .addOption(
      new Option('--max-restarts <n>', 'restarts of a process that dies after ready, in a row, before giving up')
        .argParser(nonNegativeInt)
        .default(5),
    )
    .addOption(
      new Option('--restart-delay-ms <ms>', 'delay before the first restart (doubles per try, up to 15 s)')
        .argParser(nonNegativeInt)
        .default(500),
    );
}

/** The repository root, from this file's place in it (services/ops/src/launcher). */
const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');

/**
 * Runs the launcher until SIGINT/SIGTERM/SIGHUP, then stops everything and exits 0. Exits 1 when the
 * cluster cannot start (with the install hint when Redis is missing). A second signal kills at once.
 */
export async function runLauncher(flags: LauncherFlags): Promise<void> {
  // The children get the launcher's whole environment (PATH, HOME, every AB_* setting); this passes it
  // through untouched rather than reading configuration from it.
  // eslint-disable-next-line no-restricted-properties
  const env = process.env;
  const sink: OutputSink = {
    write: (text) => void process.stdout.write(text),
    colour: process.stdout.isTTY && env.NO_COLOR === undefined,
  };
  const launcher: Launcher = new Launcher({
    repoRoot: REPO_ROOT,
    replicas: flags.replicas,
    gateways: flags.gateways,
    redisUrl: flags.redisUrl && flags.redisUrl.length > 0 ? flags.redisUrl : undefined,
    stateDir: flags.stateDir,
    demoAgent: flags.demoAgent,
    readyTimeoutMs: flags.readyTimeoutMs,
    // Each is the first port tried: a busy one is skipped.
    basePorts: { gateway: flags.gatewayPort, ops: flags.opsPort, bridge: flags.bridgePort, redis: flags.redisPort },
    env: { ...env, FORCE_COLOR: '0' },
    sink,
    restartPolicy: {
      maxRestarts: flags.maxRestarts,
      initialDelayMs: flags.restartDelayMs,
      maxDelayMs: Math.max(15_000, flags.restartDelayMs),
    },
    // A process kept dying: the launcher said so in red; stop everything and exit non-zero.
    onGiveUp: (error) => {
      process.stderr.write(`\n${paint(sink, 31, 'agent-bridge gave up:')} ${error.message}\n\n`);
      void launcher.close().then(
        () => process.exit(1),
        () => process.exit(1),
      );
    },
  });

  process.once('exit', () => launcher.killAllNow());
  let signalled = 0;
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A terminal's Ctrl-C reaches npm, scripts/start.mjs and this process at once, and the first two pass
    // it on: signals within a second of the first one are the same request.
    if (signalled > 0 && Date.now() - firstSignalAt < 1_000) return;
    signalled += 1;
    if (signalled === 1) firstSignalAt = Date.now();
    if (signalled > 1) {
      sink.write(`${signal} again: killing everything now\n`);
      launcher.killAllNow();
      process.exit(130);
    }
    sink.write(`\n${signal} received: shutting down (press Ctrl-C again to kill at once)\n`);
    void launcher.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  try {
    await launcher.start();
  } catch (err) {
    if (signalled > 0) return; // shutting down on request; the signal handler exits
    if (err instanceof RedisNotInstalledError) {
      process.stderr.write(`\n${paint(sink, 31, 'Cannot start agent-bridge:')} ${err.message}\n\n`);
    } else {
      process.stderr.write(`\n${paint(sink, 31, 'agent-bridge failed to start:')} ${(err as Error).message}\n\n`);
    }
    process.exit(1);
  }
}
