import type { IncomingHttpHeaders } from 'node:http';

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same client. */
function normalize(address: string): string {
  const a = address.trim();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice('::ffff:'.length) : a;
}

/**
 * The client's IP address: the TCP peer, or, behind `trustedHops` reverse proxies, the address that many
 * hops back in `X-Forwarded-For` (the same rule as Fastify's numeric `trustProxy`). Entries further back
 * are never used: a client can write anything there.
 */
export function clientIp(peer: string | undefined, headers: IncomingHttpHeaders, trustedHops: number): string {
  const chain = [normalize(peer ?? 'unknown')];
  if (trustedHops > 0) {
    const raw = headers['x-forwarded-for'];
    const forwarded = (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .reverse();
    for (const hop of forwarded) chain.push(normalize(hop));
  }
  return chain[Math.min(trustedHops, chain.length - 1)] as string;
}
