import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AppConfig } from '@agent-bridge/config';
import { type KeyLayout, keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis, readHistory } from '@agent-bridge/redis';
import { Lifecycle, type LifecycleState, PROBE_PATHS, installProbes } from '@agent-bridge/runtime';
import { type Logger, metrics, withSpan } from '@agent-bridge/telemetry';
import { clientIp } from '@agent-bridge/auth';
import fastifyBasicAuth from '@fastify/basic-auth';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { OpsSampler } from '../charts/sampler';
import { DeadLetters } from '../dlq/dead-letters';
import { StatusReader } from '../status/status-reader';
import { BOARD_PATH, isBoardRoute, mountBullBoard } from './bull-board';
import { LoginThrottle } from './login-throttle';
import { registerOpsApiRoutes } from './ops-api-routes';
import { PUBLIC_DIR, STATUS_BUNDLE } from './page-files';
import { intParam } from './params';
import { installSecurityHeaders } from './security-headers';

/** Static files of the status page (read once) and the chart library's stylesheet, served locally. */
const UPLOT_CSS = join(dirname(require.resolve('uplot/dist/uPlot.iife.min.js')), 'uPlot.min.css');
const CSS = 'text/css; charset=utf-8';
const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/status': { file: join(PUBLIC_DIR, 'status.html'), type: 'text/html; charset=utf-8' },
  '/status.css': { file: join(PUBLIC_DIR, 'status.css'), type: CSS },
  '/vendor/uPlot.min.css': { file: UPLOT_CSS, type: CSS },
};

/**
 * The status page's script (and its source map): built from `status-page/*.ts`, so read at each request —
 * a launcher that rebuilds it is seen without a restart — and answered 503 with the way out when missing.
 */
const BUNDLE_FILES: Record<string, { file: string; type: string }> = {
  '/status.js': { file: STATUS_BUNDLE, type: 'text/javascript; charset=utf-8' },
  '/status.js.map': { file: `${STATUS_BUNDLE}.map`, type: 'application/json; charset=utf-8' },
};

async function sendBundleFile(reply: FastifyReply, file: string, type: string): Promise<FastifyReply> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return reply
      .code(503)
      .type('text/plain; charset=utf-8')
      .send(`the status page's script is not built (${file}): \`npm start\` or \`npm run build:pages\` builds it\n`);
  }
  return reply.type(type).header('cache-control', 'no-store').send(body);
}

export interface OpsServerOptions {
  /** Data Redis connection to use (`command` role); the server never closes a given one. @defaultValue its own */
  connection?: RedisConnection;
  /** Interface to listen on. @defaultValue '0.0.0.0' */
  host?: string;
}

/** The ops HTTP server: Bull Board, the live status page and its JSON API. */
export interface OpsServer {
  readonly app: FastifyInstance;
  readonly reader: StatusReader;
  /** The chart sampler (runs while the server runs). */
  readonly sampler: OpsSampler;
  /** The dead-letter queue (list, show, requeue in write mode). */
  readonly deadLetters: DeadLetters;
  /** Listening port (after `start()`). */
  readonly port: number;
  getStatus(): { state: LifecycleState };
  /** Listens on config `PORT` / `AB_OPS_PORT` (0: any free port). Idempotent. */
  start(): Promise<void>;
  /** Stops listening, the metrics poller and the queue objects; closes the connection it created. Idempotent. */
  close(): Promise<void>;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/**
 * Builds the ops server. Everything except `/healthz`, `/readyz` and `/metrics` requires HTTP basic auth
 * (`AB_OPS_USERNAME` / `AB_OPS_PASSWORD`). Bull Board at `/board` covers the events, control, dead-letter
 * and runs queues and is read-only unless `AB_OPS_READ_ONLY=false`. The status page is `/status`, its
 * data `GET /api/status`; also `/api/history`, `/api/health`, `/api/runs`, `/api/runs/:runId/events`, and
 * the charts' `/api/series` and the dead-letter view's `/api/dlq…` ({@link registerOpsApiRoutes}). While
 * running it samples the cluster into the chart ring ({@link OpsSampler}; one sample per interval
 * cluster-wide whatever the number of ops replicas).
 *
 * All of it is read from Redis directly, so it shows the truth with any number of replicas (or none).
 */
export function createOpsServer(config: AppConfig, logger: Logger, options: OpsServerOptions = {}): OpsServer {
  const keys: KeyLayout = keyLayout(config.keyPrefix);
  const ownConnection = options.connection === undefined;
  const conn = options.connection ?? createRedis(config, 'command', { name: `ops:${config.instanceId}` });
  if (ownConnection) {
    // ioredis retries forever; say so at most every 10 s instead of an unhandled 'error' event per attempt.
    let lastWarned = 0;
    conn.on('error', (err: Error) => {
      if (Date.now() - lastWarned < 10_000) return;
      lastWarned = Date.now();
      logger.warn({ err: err.message }, 'redis connection error (retrying; /readyz answers 503)');
    });
  }
  const reader = new StatusReader(config, keys, conn);
  const deadLetters = new DeadLetters(config, keys, conn);
  const sampler = new OpsSampler({
    config,
    keys,
    conn,
    reader,
    deadLetters,
    logger: logger.child({ component: 'sampler' }),
  });
  // Request lines are info-level noise (the page polls every second): the HTTP logger shows warnings up.
  const httpLogger: FastifyBaseLogger = logger.child({ component: 'http' }, { level: 'warn' });
  const app: FastifyInstance = Fastify({ loggerInstance: httpLogger });
  const lifecycle = new Lifecycle();
  let port = 0;
  let poller: NodeJS.Timeout | null = null;

  const throttle = new LoginThrottle(config, conn, keys);
  const ipOf = (request: FastifyRequest): string =>
    clientIp(request.raw.socket.remoteAddress, request.headers, config.limits.trustProxyHops);

  const routes = (async () => {
    await installSecurityHeaders(app, isBoardRoute);
    await app.register(fastifyBasicAuth, {
      authenticate: { realm: 'agent-bridge ops' },
      validate: async (username, password, request) => {
        // Compare both, always: no early exit that tells which one was wrong.
        const okUser = safeEqual(username, config.ops.username);
        // No password configured (production without AB_OPS_PASSWORD never starts; a library user may):
        // nobody gets in.
        const expected = config.ops.password;
        const okPass = expected !== undefined && safeEqual(password, expected);
        if (!okUser || !okPass) throw new Error('invalid credentials');
        await throttle.succeeded(ipOf(request));
      },
    });
    app.addHook('onRequest', async (request, reply) => {
      // By the route matched, not the raw URL text (an encoded path is routed like its decoded form).
      // Probes and the Prometheus scrape are served without credentials.
      if (PROBE_PATHS.has(request.routeOptions.url ?? '')) return;
      const verdict = await throttle.admit(ipOf(request), request.headers.authorization !== undefined);
      if (!verdict.allowed) {
        const seconds = Math.ceil(verdict.retryAfterMs / 1_000);
        return reply
          .code(429)
          .header('retry-after', String(seconds))
          .send({ error: { code: 'RATE_LIMITED', message: `too many failed logins; retry in ${seconds} s` } });
      }
      await new Promise<void>((resolve, reject) =>
        app.basicAuth(request, reply, (err?: Error) => (err ? reject(err) : resolve())),
      );
    });

    installProbes(app, {
      ready: async () => {
        await conn.ping();
        return { ready: true };
      },
    });

    app.get('/', async (_req, reply) => reply.redirect('/status'));
    for (const [route, { file, type }] of Object.entries(STATIC_FILES)) {
      const body = readFileSync(file, 'utf8');
      app.get(route, async (_req, reply) => reply.type(type).header('cache-control', 'no-store').send(body));
    }
    for (const [route, { file, type }] of Object.entries(BUNDLE_FILES)) {
      app.get(route, async (_req, reply) => sendBundleFile(reply, file, type));
    }

    app.get('/api/status', async (_req, reply) => {
      const status = await withSpan('ops.status', {}, () => reader.status());
      return reply.header('cache-control', 'no-store').send(status);
    });
    app.get('/api/health', async () => ({ health: await reader.health() }));
    app.get<{ Querystring: { limit?: string } }>('/api/history', async (request) => ({
      transitions: await reader.history(intParam(request.query.limit, 50, 1, 10_000)),
    }));
    app.get<{ Querystring: { user?: string; limit?: string } }>('/api/runs', async (request) => {
      const userId = request.query.user || undefined;
      const limit = intParam(request.query.limit, 50, 1, 1000);
      return { runs: await reader.runs(userId === undefined ? { limit } : { userId, limit }) };
    });
    app.get<{ Params: { runId: string }; Querystring: { after?: string; limit?: string } }>(
      '/api/runs/:runId/events',
      async (request) => {
        const after = intParam(request.query.after, 0, 0, Number.MAX_SAFE_INTEGER);
        const limit = intParam(request.query.limit, config.events.replayPageSize, 1, 100_000);
        return readHistory(conn, keys, request.params.runId, after, limit);
      },
    );

    registerOpsApiRoutes(app, { reader, sampler, deadLetters });
    await mountBullBoard(app, [...reader.queueObjects.values()], { readOnly: config.ops.readOnly });
  })();

  // Cluster-wide gauges (queue depth and lag, integration state, live members), from one place: ops.
  const pollMetrics = async (): Promise<void> => {
    const s = await reader.status();
    if (s.integration) metrics.setIntegrationState(s.integration.state);
    if (s.leader.epoch !== null) metrics.leaderEpoch.record(s.leader.epoch);
    metrics.membersAlive.record(s.replicas.filter((m) => m.alive).length, { role: 'bridge' });
    metrics.membersAlive.record(s.gateways.filter((m) => m.alive).length, { role: 'gateway' });
    for (const q of s.queues) {
      metrics.queueLag.record(q.lagMs, { queue: q.name });
      for (const status of ['waiting', 'active', 'delayed', 'failed'] as const) {
        metrics.queueDepth.record(q[status], { queue: q.name, status });
      }
    }
  };
  const schedulePoll = (): void => {
    if (lifecycle.isClosing) return;
    poller = setTimeout(() => {
      pollMetrics()
        .catch((err: unknown) => logger.debug({ err }, 'metrics poll failed'))
        .finally(schedulePoll);
    }, config.ops.refreshMs);
    poller.unref();
  };

  return {
    app,
    reader,
    sampler,
    deadLetters,
    get port() {
      return port;
    },
    getStatus: () => ({ state: lifecycle.state }),
    start(): Promise<void> {
      return lifecycle.start(async () => {
        await routes;
        await app.listen({ port: config.port ?? config.ops.port, host: options.host ?? '0.0.0.0' });
        const addr = app.server.address();
        port = typeof addr === 'object' && addr ? addr.port : 0;
        schedulePoll();
        sampler.start();
      });
    },
    close(): Promise<void> {
      return lifecycle.close(async () => {
        if (poller) clearTimeout(poller);
        const steps: Promise<unknown>[] = [routes.catch(() => undefined).then(() => app.close()), sampler.close()];
        await Promise.allSettled(steps);
        await Promise.all([reader.close(), deadLetters.close()]).catch((err: unknown) =>
          logger.warn({ err }, 'closing queues failed'),
        );
        if (ownConnection) await closeRedis(conn);
      });
    },
  };
}

export { BOARD_PATH };
