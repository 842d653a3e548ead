import { loadConfig } from '@agent-bridge/config';
import { ShutdownManager, createLogger, startTelemetry } from '@agent-bridge/telemetry';
import { createOpsServer } from './server/ops-server';

async function main(): Promise<void> {
  const config = loadConfig({ service: 'ops' });
  const logger = createLogger({ service: 'ops', instanceId: config.instanceId, level: config.logLevel });
  // Telemetry first: it never throws, and everything after it is traced.
  const telemetry = startTelemetry({ config, serviceName: 'agent-bridge-ops', logger });
  const shutdown = new ShutdownManager(logger, config.shutdown.timeoutMs);
  shutdown.installSignalHandlers();
  shutdown.register('telemetry', () => telemetry.shutdown());
  const server = createOpsServer(config, logger, { telemetry });
  shutdown.register('ops server', () => server.close());
  await server.start();
  logger.info({ port: server.port }, `ops ready on port ${server.port}`);
}

main().catch((err: unknown) => {
  // The logger may not exist yet (invalid config): report on stderr and exit non-zero.
  process.stderr.write(`ops failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
