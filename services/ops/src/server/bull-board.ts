import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';

/** Where Bull Board is mounted. */
export const BOARD_PATH = '/board';

/**
 * Whether a request was routed to Bull Board, judged by the route Fastify matched (`routeOptions.url`,
 * e.g. `/board/api/queues/:queueName/pause`), not by the raw URL: the router decodes `%62oard` to `board`,
 * so a guard on the raw text would let an encoded path through to the board's handlers.
 */
export function isBoardRoute(routeUrl: string | undefined): boolean {
  return routeUrl !== undefined && (routeUrl === BOARD_PATH || routeUrl.startsWith(`${BOARD_PATH}/`));
}

/** HTTP methods that only read. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Mounts Bull Board over `queues` at {@link BOARD_PATH}. In read-only mode each queue adapter hides the
 * write actions and, as a second line that does not depend on the UI, every write method to the board's
 * API answers 405. Authentication is the caller's (the ops server's basic auth covers the path).
 */
export async function mountBullBoard(
  app: FastifyInstance,
  queues: readonly Queue[],
  options: { readOnly: boolean; title?: string },
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map(
      (q) => new BullMQAdapter(q, { readOnlyMode: options.readOnly, allowRetries: !options.readOnly }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: options.title ?? 'agent-bridge' } },
  });
  if (options.readOnly) {
    app.addHook('onRequest', async (request, reply) => {
      if (isBoardRoute(request.routeOptions.url) && !READ_METHODS.has(request.method)) {
        await reply
          .code(405)
          .header('allow', 'GET, HEAD')
          .send({ error: { code: 'READ_ONLY', message: 'Bull Board is read-only (AB_OPS_READ_ONLY=true)' } });
      }
    });
  }
  await app.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
}
