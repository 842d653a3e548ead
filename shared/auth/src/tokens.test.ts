import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@agent-bridge/config';
import { ConfigError } from '@agent-bridge/protocol';
import { type CryptoKey, type JWTHeaderParameters, type JWTPayload, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { type AuthConfig, TokenVerifier, signToken } from './tokens';

const SECRET = 'current-secret-0123456789abcdef0123456789';
const OLD_SECRET = 'previous-secret-0123456789abcdef012345678';

function auth(overrides: Record<string, string | number> = {}): AuthConfig {
  return loadConfig({ env: {}, overrides: { AB_JWT_SECRET: SECRET, ...overrides } }).auth;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const now = (): number => Math.floor(Date.now() / 1000);
const claims = (extra: JWTPayload = {}): JWTPayload => ({
  sub: 'alice',
  iss: 'agent-bridge',
  aud: 'agent-bridge',
  iat: now(),
  exp: now() + 300,
  ...extra,
});

function hs256(secret: string, header: Partial<JWTHeaderParameters> = {}, extra: JWTPayload = {}): Promise<string> {
  return new SignJWT(claims(extra)).setProtectedHeader({ alg: 'HS256', ...header }).sign(enc(secret));
}

async function reason(verifier: TokenVerifier, token: string): Promise<string> {
  return verifier.verify(token).then(
    () => 'accepted',
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
}

function jwksFile(keys: object[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ab-jwks-')), 'jwks.json');
  writeFileSync(file, JSON.stringify({ keys }));
  return file;
}

describe('TokenVerifier (jose)', () => {
  it('signs and verifies its own tokens: kid, iat, exp, sub', async () => {
    const verifier = new TokenVerifier(auth());
    const token = await signToken('alice', auth(), 60_000);
    const verified = await verifier.verify(token);
    expect(verified).toEqual({ userId: 'alice', keyId: 'hs-1', expiresAtMs: expect.any(Number) as number });
    expect(verified.expiresAtMs - Date.now()).toBeGreaterThan(50_000);
    expect(verified.expiresAtMs - Date.now()).toBeLessThanOrEqual(61_000);
  });

  it('key rotation: previous HS256 secrets verify by kid, an unknown kid or a removed key does not', async () => {
    const rotating = new TokenVerifier(auth({ AB_JWT_KEY_ID: 'hs-2', AB_JWT_VERIFY_SECRETS: `hs-1=${OLD_SECRET}` }));
    expect(await reason(rotating, await hs256(OLD_SECRET, { kid: 'hs-1' }))).toBe('accepted');
    expect(await reason(rotating, await hs256(SECRET, { kid: 'hs-2' }))).toBe('accepted');
    expect(await reason(rotating, await hs256(OLD_SECRET, { kid: 'hs-2' }))).toBe('invalid token');
    expect(await reason(rotating, await hs256(SECRET, { kid: 'hs-9' }))).toBe('invalid token');
    // A kid-less token is tried with the current secret only.
    expect(await reason(rotating, await hs256(SECRET))).toBe('accepted');
    expect(await reason(rotating, await hs256(OLD_SECRET))).toBe('invalid token');
    const rotated = new TokenVerifier(auth({ AB_JWT_KEY_ID: 'hs-2' }));
    expect(await reason(rotated, await hs256(OLD_SECRET, { kid: 'hs-1' }))).toBe('invalid token');
  });

  it('asymmetric: ES256 and RS256 public keys (several, by kid) verify with no signing secret on the gateway', async () => {
    const es = await generateKeyPair('ES256');
    const es2 = await generateKeyPair('ES256');
    const rs = await generateKeyPair('RS256');
    const file = jwksFile([
      { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' },
      { ...(await exportJWK(es2.publicKey)), kid: 'es-2', alg: 'ES256', use: 'sig' },
      { ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' },
    ]);
    // Production mode with public keys only: no AB_JWT_SECRET anywhere near the gateway.
    const config = loadConfig({ env: {}, overrides: { AB_MODE: 'production', AB_JWT_PUBLIC_KEYS_FILE: file } });
    expect(config.auth.jwtSecret).toBeUndefined();
    const verifier = new TokenVerifier(config.auth);
    const sign = (key: CryptoKey, alg: string, kid: string, extra: JWTPayload = {}): Promise<string> =>
      new SignJWT(claims(extra)).setProtectedHeader({ alg, kid }).sign(key);
    expect(await reason(verifier, await sign(es.privateKey, 'ES256', 'es-1'))).toBe('accepted');
    expect(await reason(verifier, await sign(es2.privateKey, 'ES256', 'es-2'))).toBe('accepted');
    expect(await reason(verifier, await sign(rs.privateKey, 'RS256', 'rs-1'))).toBe('accepted');
    // Signed by one key but naming another's kid; an unknown kid; a stranger's key.
    expect(await reason(verifier, await sign(es.privateKey, 'ES256', 'es-2'))).toBe('invalid token');
    expect(await reason(verifier, await sign(es.privateKey, 'ES256', 'es-9'))).toBe('invalid token');
    const stranger = await generateKeyPair('ES256');
    expect(await reason(verifier, await sign(stranger.privateKey, 'ES256', 'es-1'))).toBe('invalid token');
    // Algorithm confusion: an HS256 token whose "secret" is the public key is refused (no HMAC key here).
    const publicJwk = JSON.stringify(await exportJWK(es.publicKey));
    expect(await reason(verifier, await hs256(publicJwk, { kid: 'es-1' }))).toBe('invalid token');
  });

  it('refuses a key file holding a private or symmetric key', async () => {
    const es = await generateKeyPair('ES256', { extractable: true });
    const privateFile = jwksFile([{ ...(await exportJWK(es.privateKey)), kid: 'es-1', alg: 'ES256' }]);
    expect(() => new TokenVerifier(auth({ AB_JWT_PUBLIC_KEYS_FILE: privateFile }))).toThrow(ConfigError);
    const octFile = jwksFile([{ kty: 'oct', k: 'c2VjcmV0', kid: 'x' }]);
    expect(() => new TokenVerifier(auth({ AB_JWT_PUBLIC_KEYS_FILE: octFile }))).toThrow(/private or symmetric/);
  });

  it('maximum lifetime: a token living longer than AB_JWT_MAX_LIFETIME_MS is refused, with or without iat', async () => {
    const verifier = new TokenVerifier(auth({ AB_JWT_MAX_LIFETIME_MS: 3_600_000, AB_TOKEN_TTL_MS: 60_000 }));
    expect(await reason(verifier, await hs256(SECRET, {}, { exp: now() + 3_500 }))).toBe('accepted');
    expect(await reason(verifier, await hs256(SECRET, {}, { exp: now() + 7_200 }))).toBe(
      'token lifetime over the maximum',
    );
    expect(await reason(verifier, await hs256(SECRET, {}, { iat: now() - 7_000, exp: now() + 600 }))).toBe(
      'token lifetime over the maximum',
    );
    const { iat: _iat, ...noIat } = claims({ exp: now() + 7_200 });
    const noIatToken = await new SignJWT(noIat).setProtectedHeader({ alg: 'HS256' }).sign(enc(SECRET));
    expect(await reason(verifier, noIatToken)).toBe('token lifetime over the maximum');
  });

  it('only the configured algorithms are accepted', async () => {
    const verifier = new TokenVerifier(auth({ AB_JWT_ALGORITHMS: 'ES256' }));
    expect(await reason(verifier, await hs256(SECRET))).toBe('invalid token');
  });

  it('names expiry, missing claims and garbage without quoting the token', async () => {
    const verifier = new TokenVerifier(auth());
    expect(await reason(verifier, await hs256(SECRET, {}, { iat: now() - 100, exp: now() - 60 }))).toBe(
      'token expired',
    );
    const { exp: _exp, ...noExp } = claims();
    expect(
      await reason(verifier, await new SignJWT(noExp).setProtectedHeader({ alg: 'HS256' }).sign(enc(SECRET))),
    ).toBe('token has no expiry');
    const { sub: _sub, ...noSub } = claims();
    expect(
      await reason(verifier, await new SignJWT(noSub).setProtectedHeader({ alg: 'HS256' }).sign(enc(SECRET))),
    ).toBe('token has no subject');
    expect(await reason(verifier, 'not.a.jwt')).toBe('invalid token');
    await expect(verifier.verify(undefined)).rejects.toThrow('missing token');
  });
});
