import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The ops pages' Content-Security-Policy: scripts, styles, images and API calls from this origin only, no
 * plugins, no framing by any other page (clickjacking a "retry" or "requeue" button), forms only to us.
 * The status page and uPlot need nothing more: no inline script or style markup (uPlot styles its nodes
 * through the CSSOM, which CSP does not restrict).
 */
const DIRECTIVES = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/**
 * Bull Board's page has inline `style` attributes and a `<style>` element (its loading placeholder), so
 * its routes also allow inline styles — never inline scripts. Its Google Fonts stylesheet stays refused:
 * an ops page should not tell a third party who opens it and when (the system font is used instead).
 */
const BOARD_CSP = Object.entries({ ...DIRECTIVES, styleSrc: ["'self'", "'unsafe-inline'"] })
  .map(([name, values]) => `${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${values.join(' ')}`)
  .join('; ');

/**
 * Security headers on every ops response (helmet): the CSP above, `X-Frame-Options: DENY` for browsers
 * without `frame-ancestors`, `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, HSTS
 * (ignored over plain HTTP). `isBoardRoute` tells which requests get {@link BOARD_CSP}.
 */
export async function installSecurityHeaders(
  app: FastifyInstance,
  isBoardRoute: (routeUrl: string | undefined) => boolean,
): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: DIRECTIVES },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  app.addHook('onRequest', async (request, reply) => {
    if (isBoardRoute(request.routeOptions.url)) reply.header('content-security-policy', BOARD_CSP);
  });
}
