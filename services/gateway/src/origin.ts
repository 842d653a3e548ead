/**
 * Origin allowlist matching. A pattern is an exact origin (`https://app.example.com`), `*` (any origin),
 * or an origin whose port is `*` (`http://localhost:*`: any port, including none).
 */
export function originAllowed(origin: string, patterns: readonly string[]): boolean {
  for (const pattern of patterns) {
    if (pattern === '*' || pattern === origin) return true;
    if (pattern.endsWith(':*')) {
      const base = pattern.slice(0, -2);
      if (origin === base) return true;
      if (origin.startsWith(`${base}:`) && /^\d{1,5}$/.test(origin.slice(base.length + 1))) return true;
    }
  }
  return false;
}
