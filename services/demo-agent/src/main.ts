import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { runService } from '@agent-bridge/runtime';
import { DemoAgentService } from './service';

/** Demo agent process: agent SDK publisher, runs worker. */
runService('demo-agent', async ({ config, logger, shutdown }) => {
  const publisher = await AgentPublisher.create({ config, logger, name: 'demo-agent' });
  shutdown.register('agent publisher', () => publisher.close());
  const service = new DemoAgentService({ config, logger, publisher });
  shutdown.register('demo agent', () => service.close());
  await service.start();
  logger.info({ agent: config.demoAgent.name, paceMs: config.demoAgent.paceMs }, 'demo-agent ready');
});
