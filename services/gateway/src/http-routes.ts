import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AppConfig } from '@agent-bridge/config';
import { AgentBridgeError, ErrorCode, RateLimitedError, UserIdSchema, toWireError } from '@agent-bridge/protocol';
import { PROBE_PATHS, installProbes } from '@agent-bridge/runtime';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import { clientIp, signToken } from '@agent-bridge/auth';
import type { ClientLimits } from './limits/client-limits';
import { serveStatic } from './static-files';

/** What the gateway's HTTP routes need from it. */
export interface HttpRoutesDeps {
  config: AppConfig;
  limits: ClientLimits;
  /** `/healthz` state and `/readyz` status. */
  state: () => string;
  status: () => { ready: boolean };
  /** Folder of the demo chat page (served only with `gateway.chatPage`). */
  publicDir: string;
}

/**
 * The chat page may talk to every gateway of this host (the launcher runs them on neighbouring ports), over
 * HTTP long-polling or WebSocket: `connect-src` allows exactly that host on any port.
 */
function connectSources(req: IncomingMessage): string {
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  if (!/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(host)) return "'self'";
  return `'self' http://${host}:* https://${host}:* ws://${host}:* wss://${host}:*`;
}

/**
 * Installs the gateway's HTTP side: security headers on every response (helmet: a CSP that allows only this
 * origin's scripts and styles, no framing, nosniff, no referrer), the per-IP request limit (RATE_LIMITED,
 * 429 with Retry-After; probes exempt), `/healthz`, `/readyz`, `/metrics`, and with the chat page on, the
 * page and the demo sign-in.
 */
export async function installHttpRoutes(app: FastifyInstance, deps: HttpRoutesDeps): Promise<void> {
  const { config, limits } = deps;
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: [(req) => connectSources(req)],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    // TLS ends at the proxy in front; a gateway reached over plain HTTP must not ask browsers to upgrade.
    strictTransportSecurity: false,
  });
  app.addHook('onRequest', async (request, reply) => {
    // Probes and the Prometheus scrape are never rate-limited (they come from the platform, often one address).
    if (PROBE_PATHS.has(request.url.split('?')[0] ?? '')) return;
    try {
      await limits.ipRequest(clientIp(request.socket.remoteAddress, request.headers, config.limits.trustProxyHops));
    } catch (err) {
      if (!(err instanceof AgentBridgeError)) throw err;
      if (err instanceof RateLimitedError) reply.header('retry-after', Math.ceil(err.retryAfterMs / 1000));
      return reply.code(err instanceof RateLimitedError ? 429 : 400).send({ error: toWireError(err) });
    }
  });
  installProbes(app, { health: () => ({ state: deps.state() }), ready: () => ({ ...deps.status() }) });
  if (!config.gateway.chatPage) return;
  if (existsSync(deps.publicDir)) serveStatic(app, deps.publicDir);
  app.post('/auth/demo', async (req, reply) => {
    const userId = (req.body as { userId?: unknown } | undefined)?.userId;
    const parsed = UserIdSchema.safeParse(userId);
    if (!parsed.success) {
      return reply.code(400).send({ error: { code: ErrorCode.InvalidRequest, message: 'userId is required' } });
    }
    return { token: await signToken(parsed.data, config.auth) };
  });
}
