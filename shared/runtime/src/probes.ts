import { serveMetrics } from '@agent-bridge/telemetry';
import type { FastifyInstance } from 'fastify';

/** What the probes of a service report. */
export interface ProbeOptions {
  /** Body of `/healthz` besides `ok: true` (e.g. the component state). @defaultValue `{}` */
  health?: () => Record<string, unknown>;
  /**
   * `/readyz`: 200 with the body when `ready` is true, else 503. A throwing check counts as not ready and
   * answers `{ ready: false, error }`.
   */
  ready: () => Promise<{ ready: boolean } & Record<string, unknown>> | ({ ready: boolean } & Record<string, unknown>);
}

/** Paths of the probes and the scrape, for hooks that must not gate them (rate limits, auth). */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The one way a service serves its probes and metrics on a Fastify app:
 * - `GET /healthz` — alive while it serves HTTP (200);
 * - `GET /readyz` — 200 when ready, else 503;
 * - `GET /metrics` — this process's metrics in Prometheus text format, 404 when telemetry does not export
 *   to Prometheus (`OTEL_METRICS_EXPORTER`).
 */
export function installProbes(app: FastifyInstance, options: ProbeOptions): void {
  app.get('/healthz', () => ({ ok: true, ...options.health?.() }));
  app.get('/readyz', async (_req, reply) => {
    try {
      const status = await options.ready();
      return await reply.code(status.ready ? 200 : 503).send(status);
    } catch (err) {
      return reply.code(503).send({ ready: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
  app.get('/metrics', async (request, reply) => {
    reply.hijack();
    serveMetrics(request.raw, reply.raw);
  });
}
