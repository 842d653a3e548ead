import { loadConfig } from '@agent-bridge/config';
import { ShutdownManager, createLogger, startTelemetry } from '@agent-bridge/telemetry';
import { createGateway } from './gateway';

async function main(): Promise<void> {
  const config = loadConfig({ service: 'gateway' });
  const logger = createLogger({ service: 'gateway', instanceId: config.instanceId, level: config.logLevel });
  // Telemetry before anything else; it never throws and its shutdown (registered first) runs last.
  const telemetry = startTelemetry({ config, serviceName: 'agent-bridge-gateway', logger });
  const shutdown = new ShutdownManager(logger, config.shutdown.timeoutMs);
  shutdown.installSignalHandlers();
  shutdown.register('telemetry', () => telemetry.shutdown());
  const gateway = createGateway(config, logger);
  shutdown.register('gateway', () => gateway.close());
  await gateway.start();
  logger.info({ port: gateway.port, id: gateway.id }, `gateway ready on port ${gateway.port}`);
}

main().catch((err: unknown) => {
  // The logger may not exist yet (invalid config): report on stderr and exit non-zero.
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
