import type { AppConfig } from '@agent-bridge/config';
import { SignJWT } from 'jose';
import { io as ioClient } from 'socket.io-client';

/**
 * How a gateway answers a Socket.IO handshake with `auth` (and `headers`): 'connected', the error code it
 * refused with (e.g. UNAUTHORIZED), or `refused: <message>` when it gave none.
 */
export function handshakeOutcome(url: string, auth: object, headers?: Record<string, string>): Promise<unknown> {
  const s = ioClient(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth,
    extraHeaders: headers,
  });
  return new Promise((resolve) => {
    s.once('connect', () => {
      s.disconnect();
      resolve('connected');
    });
    s.once('connect_error', (err: Error & { data?: { code?: string } }) => {
      s.disconnect();
      resolve(err.data?.code ?? `refused: ${err.message}`);
    });
  });
}

/** Tokens for `user` a gateway of `config` must refuse: expired, signed with another secret, alg:none. */
export async function hostileTokens(
  config: AppConfig,
  user: string,
): Promise<{ expired: string; forged: string; none: string }> {
  const { jwtIssuer, jwtAudience } = config.auth;
  const jwtSecret = config.auth.jwtSecret ?? '';
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: jwtIssuer, aud: jwtAudience, sub: user, iat: now - 60 };
  const hs256 = (exp: number, secret: string): Promise<string> =>
    new SignJWT({ ...claims, exp }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return {
    expired: await hs256(now - 10, jwtSecret),
    forged: await hs256(now + 60, 'not-the-cluster-secret-at-all'),
    none: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: user, iss: jwtIssuer, aud: jwtAudience })}.`,
  };
}
