import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { loadConfig } from '@agent-bridge/config';
import { ShutdownManager, createLogger, startTelemetry } from '@agent-bridge/telemetry';
import { DemoAgentService } from './service';

/** Demo agent process: config, logger, shutdown registry, agent SDK publisher, runs worker. */
async function main(): Promise<void> {
  const config = loadConfig({ service: 'agent' });
  const logger = createLogger({ service: 'demo-agent', instanceId: config.instanceId, level: config.logLevel });
  // Telemetry before anything else; it never throws and its shutdown (registered first) runs last.
  const telemetry = startTelemetry({ config, serviceName: 'agent-bridge-demo-agent', logger });
  const shutdown = new ShutdownManager(logger, config.shutdown.timeoutMs);
  shutdown.installSignalHandlers();
  shutdown.register('telemetry', () => telemetry.shutdown());
  const publisher = await AgentPublisher.create({ config, logger, name: 'demo-agent' });
  shutdown.register('agent publisher', () => publisher.close());
  const service = new DemoAgentService({ config, logger, publisher });
  shutdown.register('demo agent', () => service.close());
  await service.start();
  logger.info({ agent: config.demoAgent.name, paceMs: config.demoAgent.paceMs }, 'demo-agent ready');
}

main().catch((err: unknown) => {
  // The logger may not exist yet (invalid config): report on stderr and exit non-zero.
  process.stderr.write(`demo-agent failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
