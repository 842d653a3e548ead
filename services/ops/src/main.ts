import { runService } from '@agent-bridge/runtime';
import { createOpsServer } from './server/ops-server';

/** Ops process: status API and page, Bull Board, recovery actions. */
runService('ops', async ({ config, logger, shutdown }) => {
  const server = createOpsServer(config, logger);
  shutdown.register('ops server', () => server.close());
  await server.start();
  logger.info({ port: server.port }, `ops ready on port ${server.port}`);
});
