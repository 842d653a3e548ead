import type { Logger } from '@agent-bridge/telemetry';
import fastifyBearerAuth from '@fastify/bearer-auth';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Replica } from '../replica';

/** What the admin listener requires. */
export interface AdminServerOptions {
  /** Bearer token every request must carry (`Authorization: Bearer <token>`). */
  token: string;
}

/**
 * The replica's admin endpoints, which change the cluster and so are never on the public port:
 * - `POST /integration/ensure` — `ensureIntegration()` (on a standby: forwarded to the leader);
 * - `POST /integration/recover` — `recoverIntegration()` (enqueues a recovery job).
 *
 * Every request needs `Authorization: Bearer <AB_BRIDGE_ADMIN_TOKEN>`; anything else is answered 401 before
 * routing (so an unknown path does not reveal what exists). @fastify/bearer-auth compares in constant time.
 * The caller binds it to `AB_BRIDGE_ADMIN_HOST` (loopback by default) and only creates it when a token is set.
 */
export async function createAdminServer(
  replica: Replica,
  logger: Logger,
  options: AdminServerOptions,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(fastifyBearerAuth, {
    keys: new Set([options.token]),
    addHook: true,
    errorResponse: () => ({ error: 'admin token required' }),
  });
  app.post('/integration/ensure', async () => replica.integration.ensureIntegration());
  app.post('/integration/recover', async () =>
    replica.integration.recoverIntegration('manual request over the admin endpoint'),
  );
  app.setErrorHandler((err, _req, reply) => {
    logger.warn({ err }, 'admin request failed');
    void reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  return app;
}
