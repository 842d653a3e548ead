import { loadConfig } from '@agent-bridge/config';
import { ShutdownManager, createLogger, startTelemetry } from '@agent-bridge/telemetry';
import { createAdminServer } from './http/admin-server';
import { createHttpServer } from './http/server';
import { createReplica } from './replica';

/** Bridge replica process: config, logger, shutdown registry, replica, public HTTP server, admin listener. */
async function main(): Promise<void> {
  const config = loadConfig({ service: 'bridge' });
  const id = config.instanceId;
  const logger = createLogger({ service: 'bridge', instanceId: id, level: config.logLevel });
  // Telemetry before anything else; it never throws and its shutdown (registered first) runs last.
  const telemetry = startTelemetry({ config, serviceName: 'agent-bridge-bridge', logger });
  const shutdown = new ShutdownManager(logger, config.shutdown.timeoutMs);
  shutdown.installSignalHandlers();
  shutdown.register('telemetry', () => telemetry.shutdown());
  const replica = createReplica(config, logger);
  shutdown.register('replica', () => replica.close());
  const http = createHttpServer(replica, logger);
  shutdown.register('http', () => http.close());
  await replica.start();
  const address = await http.listen({ port: config.port ?? config.bridge.port, host: '0.0.0.0' });
  const { adminToken, adminHost, adminPort } = config.bridge;
  if (adminToken === undefined) {
    logger.info('admin listener off (AB_BRIDGE_ADMIN_TOKEN unset)');
  } else {
    const admin = await createAdminServer(replica, logger, { token: adminToken });
    shutdown.register('admin http', () => admin.close());
    const adminAddress = await admin.listen({ port: adminPort, host: adminHost });
    logger.info({ adminAddress }, `bridge admin endpoints on ${adminAddress}`);
  }
  logger.info({ id, address }, `bridge ready on ${address}`);
}

main().catch((err: unknown) => {
  // The logger may not exist yet (invalid config): write the reason plainly and exit non-zero.
  process.stderr.write(`bridge failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
