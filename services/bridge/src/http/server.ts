import { installProbes } from '@agent-bridge/runtime';
import type { Logger } from '@agent-bridge/telemetry';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Replica } from '../replica';

/**
 * The replica's public HTTP endpoints, all read-only (the ones that change the cluster are on the
 * authenticated admin listener, `createAdminServer`):
 * - `GET /healthz` — the process is alive (always 200 while it serves HTTP);
 * - `GET /readyz` — 200 when Redis answers and the event workers run, else 503;
 * - `GET /status` — JSON: this replica's leadership view, the published integration state, router counters;
 * - `GET /integration/health` — runs `healthCheck()` now;
 * - `GET /metrics` — Prometheus text format (when OTEL_METRICS_EXPORTER=prometheus).
 */
export function createHttpServer(replica: Replica, logger: Logger): FastifyInstance {
  const app = Fastify({ logger: false });
  installProbes(app, { ready: async () => ({ ready: await replica.isReady() }) });
  app.get('/status', async () => replica.getStatus());
  app.get('/integration/health', async () => replica.integration.healthCheck());
  app.setErrorHandler((err, _req, reply) => {
    logger.warn({ err }, 'http request failed');
    void reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  return app;
}
