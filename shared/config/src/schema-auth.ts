import { z } from 'zod';
import { int, list, setting } from './setting';

/** Tokens: signing and verifying secrets and keys, issuers, audiences and lifetimes. */
export const authDefinition = {
  jwtSecret: setting({
    env: 'AB_JWT_SECRET',
    schema: z.string().min(16, 'at least 16 characters').optional(),
    default: 'dev-only-insecure-jwt-secret',
    description:
      'HMAC secret that signs and verifies client tokens (HS256). The default is for development only: ' +
      'production mode requires one of at least 32 characters (or public keys only).',
    secret: 'value',
    devOnlyDefault: true,
  }),
  jwtKeyId: setting({
    env: 'AB_JWT_KEY_ID',
    schema: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    default: 'hs-1',
    description:
      '`kid` of AB_JWT_SECRET: tokens signed with it carry this kid (a token without kid is tried with AB_JWT_SECRET).',
  }),
  jwtVerifySecrets: setting({
    env: 'AB_JWT_VERIFY_SECRETS',
    schema: list(z.string().regex(/^[A-Za-z0-9_.-]{1,64}=.{16,}$/, 'kid=secret (secret of at least 16 characters)')),
    default: [],
    description:
      'Further HS256 verification keys as kid=secret, comma-separated: the previous secrets during a rotation.',
    secret: 'value',
  }),
  jwtPublicKeysFile: setting({
    env: 'AB_JWT_PUBLIC_KEYS_FILE',
    schema: z.string().min(1).optional(),
    description:
      'JSON Web Key Set file (public ES256/RS256 keys, each with kid and alg): gateways verify tokens your ' +
      'identity service signs without holding any signing secret. Several keys: rotation.',
  }),
  jwtAlgorithms: setting({
    env: 'AB_JWT_ALGORITHMS',
    schema: list(z.enum(['HS256', 'ES256', 'RS256'])),
    default: ['HS256', 'ES256', 'RS256'],
    description: 'Signature algorithms accepted in client tokens (never "none").',
  }),
  jwtMaxLifetimeMs: setting({
    env: 'AB_JWT_MAX_LIFETIME_MS',
    schema: int(1_000, 30 * 24 * 3_600_000),
    default: 24 * 3_600_000,
    description: 'Longest token lifetime accepted (exp - iat, or exp - now without iat); longer ones are refused.',
  }),
  jwtClockToleranceMs: setting({
    env: 'AB_JWT_CLOCK_TOLERANCE_MS',
    schema: int(0, 300_000),
    default: 5_000,
    description: 'Clock skew allowed between the token issuer and the gateway (exp, nbf, iat).',
  }),
  expiryWarningMs: setting({
    env: 'AB_TOKEN_EXPIRY_WARNING_MS',
    schema: int(0, 3_600_000),
    default: 60_000,
    description:
      'A connected socket gets `token_expiring` this long before its token expires; without a `reauth` with a ' +
      'fresh token it is disconnected at expiry.',
  }),
  jwtIssuer: setting({
    env: 'AB_JWT_ISSUER',
    schema: z.string().min(1),
    default: 'agent-bridge',
    description: 'Required `iss` claim of client tokens.',
  }),
  jwtAudience: setting({
    env: 'AB_JWT_AUDIENCE',
    schema: z.string().min(1),
    default: 'agent-bridge',
    description: 'Required `aud` claim of client tokens.',
  }),
  tokenTtlMs: setting({
    env: 'AB_TOKEN_TTL_MS',
    schema: int(1_000, 30 * 24 * 3_600_000),
    default: 3_600_000,
    description: 'Lifetime of tokens issued by the demo sign-in.',
  }),
};
