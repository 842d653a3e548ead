import { AgentBridgeError, ErrorCode, type StateTransition } from '@agent-bridge/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { OpsSample } from '../charts/sample';
import type { OpsSampler } from '../charts/sampler';
import type { DeadLetterSummary, DeadLetters } from '../dlq/dead-letters';
import type { StatusReader } from '../status/status-reader';
import { intParam } from './params';

/** HTTP status of each error code the DLQ calls throw. */
const STATUS_OF: Partial<Record<string, number>> = {
  [ErrorCode.InvalidRequest]: 400,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
};

/** Most transitions the chart timeline reads per request. */
const TIMELINE_TRANSITIONS = 200;

/** `GET /api/series`: what the status page's charts and timeline read. */
export interface SeriesResponse {
  /** Server time of the answer (epoch ms): the window ends here. */
  now: number;
  intervalMs: number;
  windowMs: number;
  /** Oldest first. */
  samples: OpsSample[];
  /** The integration transitions of the window, oldest first. */
  transitions: StateTransition[];
}

/** `GET /api/dlq`: one page of dead letters, newest first, and whether requeue is refused. */
export interface DeadLetterPage {
  readOnly: boolean;
  total: number;
  records: DeadLetterSummary[];
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof AgentBridgeError && STATUS_OF[err.code] !== undefined) {
    return reply.code(STATUS_OF[err.code] ?? 500).send({ error: err.toWire() });
  }
  throw err;
}

/**
 * The chart and dead-letter API of the status page (behind the server's basic auth):
 * - `GET /api/series?since=<ms>` — chart samples with a bucket after `since` (the whole window without it)
 *   and the integration transitions of the window, for the timeline;
 * - `GET /api/dlq?limit=&offset=` — dead letters newest first, with `readOnly`;
 * - `GET /api/dlq/:id` — one record in full;
 * - `POST /api/dlq/:id/requeue` — write mode only (403 when read-only). It must carry
 *   `content-type: application/json`: a cross-site HTML form cannot, so a page elsewhere cannot make a
 *   logged-in browser requeue (basic-auth credentials are sent by the browser on any request).
 */
export function registerOpsApiRoutes(
  app: FastifyInstance,
  deps: { reader: StatusReader; sampler: OpsSampler; deadLetters: DeadLetters },
): void {
  const { reader, sampler, deadLetters } = deps;

  app.get<{ Querystring: { since?: string } }>('/api/series', async (request, reply) => {
    const now = Date.now();
    const windowStart = now - sampler.windowMs;
    const since = Math.max(intParam(request.query.since, 0, 0, Number.MAX_SAFE_INTEGER), windowStart);
    const [samples, history] = await Promise.all([sampler.ring.since(since), reader.history(TIMELINE_TRANSITIONS)]);
    const body: SeriesResponse = {
      now,
      intervalMs: sampler.intervalMs,
      windowMs: sampler.windowMs,
      samples,
      transitions: history.filter((t) => t.at >= windowStart).reverse(),
    };
    return reply.header('cache-control', 'no-store').send(body);
  });

  app.get<{ Querystring: { limit?: string; offset?: string } }>(
    '/api/dlq',
    async (request): Promise<DeadLetterPage> => {
      const limit = intParam(request.query.limit, 50, 1, 1000);
      const offset = intParam(request.query.offset, 0, 0, 1_000_000);
      return { readOnly: deadLetters.isReadOnly, ...(await deadLetters.list({ limit, offset })) };
    },
  );

  app.get<{ Params: { id: string } }>('/api/dlq/:id', async (request, reply) => {
    try {
      return await deadLetters.get(request.params.id);
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post<{ Params: { id: string } }>('/api/dlq/:id/requeue', async (request, reply) => {
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return reply.code(415).send({
        error: { code: ErrorCode.InvalidRequest, message: 'send content-type: application/json' },
      });
    }
    try {
      return await deadLetters.requeue(request.params.id);
    } catch (err) {
      return sendError(reply, err);
    }
  });
}
