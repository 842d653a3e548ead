import { readFileSync } from 'node:fs';
import type { AppConfig } from '@agent-bridge/config';
import { ConfigError, UnauthorizedError, UserIdSchema } from '@agent-bridge/protocol';
import {
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
  createLocalJWKSet,
  errors,
  jwtVerify,
} from 'jose';

/** The token settings of `config.auth`. */
export type AuthConfig = AppConfig['auth'];

/** What a verified token says. */
export interface VerifiedToken {
  /** The `sub` claim: the user the connection acts for. */
  userId: string;
  /** The `exp` claim in epoch ms: the connection is closed then unless it re-authenticates. */
  expiresAtMs: number;
  /** The `kid` of the key that verified it (absent for a kid-less HS256 token). */
  keyId: string | undefined;
}

const encoder = new TextEncoder();

function readJwks(path: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`AB_JWT_PUBLIC_KEYS_FILE: cannot read a JSON Web Key Set from ${path}`, [
      { key: 'AB_JWT_PUBLIC_KEYS_FILE', message: cause instanceof Error ? cause.message : String(cause) },
    ]);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError(`AB_JWT_PUBLIC_KEYS_FILE: ${path} has no "keys"`, [
      { key: 'AB_JWT_PUBLIC_KEYS_FILE', message: 'a JWKS with at least one key' },
    ]);
  }
  for (const key of keys as Record<string, unknown>[]) {
    // A private part in the gateway's key file would defeat asymmetric verification: refuse it.
    if ('d' in key || key['kty'] === 'oct') {
      throw new ConfigError(`AB_JWT_PUBLIC_KEYS_FILE: ${path} holds a private or symmetric key`, [
        { key: 'AB_JWT_PUBLIC_KEYS_FILE', message: 'public keys only' },
      ]);
    }
  }
  return parsed as JSONWebKeySet;
}

function reasonOf(err: unknown): string {
  if (err instanceof UnauthorizedError) return err.message;
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed && err.reason === 'missing') {
    if (err.claim === 'exp') return 'token has no expiry';
    if (err.claim === 'sub') return 'token has no subject';
  }
  return 'invalid token';
}

/**
 * Verifies client tokens with `jose`: HS256 with `AB_JWT_SECRET` (kid `AB_JWT_KEY_ID`) and the previous
 * secrets of `AB_JWT_VERIFY_SECRETS` (by kid), and ES256/RS256 with the public keys of
 * `AB_JWT_PUBLIC_KEYS_FILE` (a JWKS, by kid) — so a gateway may verify without holding any signing secret.
 * A token must name the configured issuer and audience, carry `exp` and `sub`, use an allowed algorithm
 * (never `none`) and live no longer than `AB_JWT_MAX_LIFETIME_MS`. Cost: one signature check per call;
 * keys are imported once.
 */
export class TokenVerifier {
  private readonly hmacKeys = new Map<string, Uint8Array>();
  private readonly currentHmac: Uint8Array | undefined;
  private readonly publicKeys: JWTVerifyGetKey | undefined;

  constructor(private readonly auth: AuthConfig) {
    if (auth.jwtSecret !== undefined) {
      this.currentHmac = encoder.encode(auth.jwtSecret);
      this.hmacKeys.set(auth.jwtKeyId, this.currentHmac);
    }
    for (const pair of auth.jwtVerifySecrets) {
      const at = pair.indexOf('=');
      this.hmacKeys.set(pair.slice(0, at), encoder.encode(pair.slice(at + 1)));
    }
    this.publicKeys =
      auth.jwtPublicKeysFile === undefined ? undefined : createLocalJWKSet(readJwks(auth.jwtPublicKeysFile));
  }

  /** True when at least one verification key is configured (otherwise every token is refused). */
  get hasKeys(): boolean {
    return this.hmacKeys.size > 0 || this.publicKeys !== undefined;
  }

  /**
   * Verifies `token`; throws {@link UnauthorizedError} (`missing token`, `token expired`, `token has no
   * expiry`, `token has no subject`, `token lifetime over the maximum`, `invalid token`), never quoting it.
   */
  async verify(token: unknown): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token.length === 0) throw new UnauthorizedError('missing token');
    let payload: JWTPayload;
    let keyId: string | undefined;
    try {
      const result = await jwtVerify(token, this.getKey, {
        algorithms: this.auth.jwtAlgorithms,
        issuer: this.auth.jwtIssuer,
        audience: this.auth.jwtAudience,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: Math.floor(this.auth.jwtClockToleranceMs / 1000),
      });
      payload = result.payload;
      keyId = result.protectedHeader.kid;
    } catch (cause) {
      throw new UnauthorizedError(reasonOf(cause), { cause });
    }
    const expiresAtMs = (payload.exp as number) * 1000;
    const issuedAtMs = typeof payload.iat === 'number' ? payload.iat * 1000 : Date.now();
    if (expiresAtMs - issuedAtMs > this.auth.jwtMaxLifetimeMs + this.auth.jwtClockToleranceMs) {
      throw new UnauthorizedError('token lifetime over the maximum');
    }
    const sub = UserIdSchema.safeParse(payload.sub);
    if (!sub.success) throw new UnauthorizedError('token has no subject');
    return { userId: sub.data, expiresAtMs, keyId };
  }

  private readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (header.alg === 'HS256') {
      const key = header.kid === undefined ? this.currentHmac : this.hmacKeys.get(header.kid);
      if (key === undefined) throw new UnauthorizedError('invalid token');
      return key;
    }
    if (this.publicKeys === undefined) throw new UnauthorizedError('invalid token');
    return this.publicKeys(header, token);
  };
}

/**
 * Signs a token for `userId`: HS256 with `AB_JWT_SECRET`, kid `AB_JWT_KEY_ID`, the configured issuer and
 * audience, `iat`, and `exp` after `ttlMs` (default `AB_TOKEN_TTL_MS`). Used by the demo sign-in and by
 * tests; production deployments issue tokens from their own identity service.
 */
export async function signToken(userId: string, auth: AuthConfig, ttlMs: number = auth.tokenTtlMs): Promise<string> {
  if (auth.jwtSecret === undefined) throw new ConfigError('AB_JWT_SECRET is not set: cannot sign tokens', []);
  const nowSec = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', kid: auth.jwtKeyId })
    .setSubject(userId)
    .setIssuer(auth.jwtIssuer)
    .setAudience(auth.jwtAudience)
    .setIssuedAt(nowSec)
    .setExpirationTime(nowSec + Math.max(1, Math.round(ttlMs / 1000)))
    .sign(encoder.encode(auth.jwtSecret));
}
