import type { ServiceContext } from '@agent-bridge/runtime';
import type { Replica } from '../replica';
import { createAdminServer } from './admin-server';
import { createHttpServer } from './server';

/**
 * Serves a started replica: the public HTTP server on `AB_PORT` (else `bridge.port`), and the admin
 * listener on `bridge.adminHost:adminPort` only when `AB_BRIDGE_ADMIN_TOKEN` is set. Each registers its
 * close with the process's shutdown. Resolves with the public address.
 */
export async function serveReplica(replica: Replica, ctx: ServiceContext): Promise<string> {
  const { config, logger, shutdown } = ctx;
  const http = createHttpServer(replica, logger);
  shutdown.register('http', () => http.close());
  const address = await http.listen({ port: config.port ?? config.bridge.port, host: '0.0.0.0' });
  const { adminToken, adminHost, adminPort } = config.bridge;
  if (adminToken === undefined) {
    logger.info('admin listener off (AB_BRIDGE_ADMIN_TOKEN unset)');
    return address;
  }
  const admin = await createAdminServer(replica, logger, { token: adminToken });
  shutdown.register('admin http', () => admin.close());
  const adminAddress = await admin.listen({ port: adminPort, host: adminHost });
  logger.info({ adminAddress }, `bridge admin endpoints on ${adminAddress}`);
  return address;
}
