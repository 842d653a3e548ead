import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type Logger, type Telemetry, createLogger, startTelemetry } from '@agent-bridge/telemetry';
import { ShutdownManager } from './shutdown';

/** The process names `runService` knows (the config's service name and the logger's). */
export type ServiceKind = 'bridge' | 'gateway' | 'ops' | 'demo-agent';

/** What a service's start function is given. */
export interface ServiceContext {
  config: AppConfig;
  logger: Logger;
  telemetry: Telemetry;
  /** Register cleanup in start order; SIGTERM/SIGINT runs it last-registered first. */
  shutdown: ShutdownManager;
}

const CONFIG_SERVICE = { bridge: 'bridge', gateway: 'gateway', ops: 'ops', 'demo-agent': 'agent' } as const;

/**
 * Runs a service process: the config (parsed once), the logger, telemetry before anything else (its
 * shutdown registered first, so it runs last and flushes what the others recorded), the shutdown registry
 * on SIGTERM/SIGINT, then `start`. A failure before the service is up (an invalid config, Redis refusing)
 * is written to stderr and exits 1: the logger may not exist yet.
 */
export function runService(service: ServiceKind, start: (ctx: ServiceContext) => Promise<void>): void {
  const run = async (): Promise<void> => {
    const config = loadConfig({ service: CONFIG_SERVICE[service] });
    const logger = createLogger({ service, instanceId: config.instanceId, level: config.logLevel });
    const telemetry = startTelemetry({ config, serviceName: `agent-bridge-${service}`, logger });
    const shutdown = new ShutdownManager(logger, config.shutdown.timeoutMs);
    shutdown.installSignalHandlers();
    shutdown.register('telemetry', () => telemetry.shutdown());
    await start({ config, logger, telemetry, shutdown });
  };
  run().catch((err: unknown) => {
    process.stderr.write(`${service} failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
