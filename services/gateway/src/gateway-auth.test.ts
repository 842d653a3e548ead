import { type JWTPayload, SignJWT } from 'jose';
import { signToken } from '@agent-bridge/auth';
import { outcome, useGatewayHarness } from './test-harness';

const h = useGatewayHarness();

describe('gateway authentication (guarantee 6.3: unauthorized input refused)', () => {
  it('refuses missing, expired, forged, alg:none, wrong-audience, expiry-less and subject-less tokens with UNAUTHORIZED, accepts a valid one', async () => {
    const config = h.testConfig();
    const gw = await h.startGateway(config);
    const { jwtIssuer, jwtAudience } = config.auth;
    const jwtSecret = config.auth.jwtSecret ?? '';
    const now = Math.floor(Date.now() / 1000);
    const hs256 = (claims: JWTPayload, secret = jwtSecret): Promise<string> =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
    const base = { sub: 'alice', iss: jwtIssuer, aud: jwtAudience, iat: now, exp: now + 60 };
    const expired = await hs256({ ...base, iat: now - 120, exp: now - 60 });
    const forged = await hs256(base, 'another-secret-of-sufficient-length');
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', iss: jwtIssuer, aud: jwtAudience })}.`;
    const wrongAudience = await hs256({ ...base, aud: 'someone-else' });
    const { exp: _exp, ...noExp } = base;
    const noExpiry = await hs256(noExp);
    const { sub: _sub, ...noSub } = base;
    const noSubject = await hs256(noSub);
    const cases: [string, Record<string, unknown>][] = [
      ['missing', {}],
      ['expired', { token: expired }],
      ['forged', { token: forged }],
      ['alg none', { token: none }],
      ['wrong audience', { token: wrongAudience }],
      ['no expiry', { token: noExpiry }],
      ['no subject', { token: noSubject }],
    ];
    for (const [name, auth] of cases) {
      const res = await outcome(h.client(gw, auth));
      expect({ name, connected: res.connected, data: res.data }).toEqual({
        name,
        connected: false,
        data: expect.objectContaining({ code: 'UNAUTHORIZED' }) as unknown,
      });
    }
    const ok = await outcome(h.client(gw, { token: await signToken('alice', config.auth) }));
    expect(ok.connected).toBe(true);
  });

  it('refuses a hostile Origin and accepts an allowlisted one', async () => {
    const config = h.testConfig({ AB_CORS_ORIGINS: 'http://localhost:*,https://app.example.com' });
    const gw = await h.startGateway(config);
    const token = await signToken('alice', config.auth);
    const hostile = await outcome(h.client(gw, { token }, { extraHeaders: { Origin: 'https://evil.example.com' } }));
    expect(hostile.connected).toBe(false);
    const hostilePolling = await outcome(
      h.client(gw, { token }, { transports: ['polling'], extraHeaders: { Origin: 'http://localhost.evil.com:80' } }),
    );
    expect(hostilePolling.connected).toBe(false);
    const allowed = await outcome(h.client(gw, { token }, { extraHeaders: { Origin: 'http://localhost:5173' } }));
    expect(allowed.connected).toBe(true);
    const allowedExact = await outcome(
      h.client(gw, { token }, { extraHeaders: { Origin: 'https://app.example.com' } }),
    );
    expect(allowedExact.connected).toBe(true);
  });
});
