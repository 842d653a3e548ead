import { runService } from '@agent-bridge/runtime';
import { createGateway } from './gateway';

/** Gateway process: one Socket.IO gateway node. */
runService('gateway', async ({ config, logger, shutdown }) => {
  const gateway = createGateway(config, logger);
  shutdown.register('gateway', () => gateway.close());
  await gateway.start();
  logger.info({ port: gateway.port, id: gateway.id }, `gateway ready on port ${gateway.port}`);
});
