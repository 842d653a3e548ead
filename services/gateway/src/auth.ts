import type { AppConfig } from '@agent-bridge/config';
import { UnauthorizedError, UserIdSchema } from '@agent-bridge/protocol';
import { type JwtPayload, TokenExpiredError, sign, verify } from 'jsonwebtoken';

/** The token settings of `config.auth`. */
export type AuthConfig = AppConfig['auth'];

/**
 * Verifies a client token and returns its subject (the user id). Only HS256 with the configured secret,
 * issuer and audience, with an `exp` and a `sub`, is accepted; a missing, expired, forged, `alg: none`,
 * expiry-less or subject-less token throws
 * {@link UnauthorizedError} (whose message never contains the token).
 */
export function verifyToken(token: unknown, auth: AuthConfig): string {
  if (typeof token !== 'string' || token.length === 0) throw new UnauthorizedError('missing token');
  let claims: string | JwtPayload;
  try {
    if (auth.jwtSecret === undefined) throw new UnauthorizedError('no token key configured');
    claims = verify(token, auth.jwtSecret, {
      algorithms: ['HS256'],
      issuer: auth.jwtIssuer,
      audience: auth.jwtAudience,
    });
  } catch (cause) {
    const reason = cause instanceof TokenExpiredError ? 'token expired' : 'invalid token';
    throw new UnauthorizedError(reason, { cause });
  }
  // A token without an expiry would be valid forever: refuse it.
  if (typeof claims !== 'object' || typeof claims.exp !== 'number') throw new UnauthorizedError('token has no expiry');
  const sub = claims.sub;
  if (!UserIdSchema.safeParse(sub).success) throw new UnauthorizedError('token has no subject');
  return sub as string;
}

/**
 * Signs a token for `userId` (HS256, configured issuer/audience, expiring after `auth.tokenTtlMs`).
 * Used by the demo sign-in and by tests; production deployments issue tokens from their own identity service.
 */
export function signToken(userId: string, auth: AuthConfig): string {
  if (auth.jwtSecret === undefined) throw new Error('AB_JWT_SECRET is not set: cannot sign tokens');
  return sign({}, auth.jwtSecret, {
    algorithm: 'HS256',
    subject: userId,
    issuer: auth.jwtIssuer,
    audience: auth.jwtAudience,
    expiresIn: Math.max(1, Math.floor(auth.tokenTtlMs / 1000)),
  });
}
