import { runService } from '@agent-bridge/runtime';
import { serveReplica } from './http/serve';
import { createReplica } from './replica';

/** Bridge replica process: the replica, then its public HTTP server and admin listener. */
runService('bridge', async (ctx) => {
  const replica = createReplica(ctx.config, ctx.logger);
  ctx.shutdown.register('replica', () => replica.close());
  await replica.start();
  const address = await serveReplica(replica, ctx);
  ctx.logger.info({ id: replica.id, address }, `bridge ready on ${address}`);
});
