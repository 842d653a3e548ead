/** A signed-in demo user and the token the gateways accept for them. */
export interface Session {
  userId: string;
  token: string;
}

/** The gateways of the cluster, as the launcher writes them into dist/config.json. */
interface ChatConfig {
  gateways: { name: string; port: number }[];
}

const SESSION_KEY = 'agent-bridge.session';

/**
 * The gateway URLs to connect to, the one that served the page first (the SDK moves on when one dies),
 * and a name for each URL. `?gateways=8080,8081` (ports on this host) wins over dist/config.json.
 */
export async function loadGateways(): Promise<{ urls: string[]; names: Map<string, string> }> {
  let config: ChatConfig = { gateways: [] };
  const fromQuery = new URLSearchParams(location.search).get('gateways');
  if (fromQuery) {
    config = {
      gateways: fromQuery
        .split(',')
        .map((p) => p.trim())
        .filter((p) => /^\d+$/.test(p))
        .map((port, i) => ({ name: `gateway-${String(i + 1)}`, port: Number(port) })),
    };
  } else {
    try {
      const res = await fetch('dist/config.json', { cache: 'no-store' });
      if (res.ok) config = (await res.json()) as ChatConfig;
    } catch {
      /* served by a gateway started on its own: only this gateway */
    }
  }
  const own = location.origin;
  const names = new Map<string, string>();
  const urls: string[] = [];
  for (const g of config.gateways) {
    const url = `${location.protocol}//${location.hostname}:${String(g.port)}`;
    names.set(url, g.name);
    urls.push(url);
  }
  if (!names.has(own)) names.set(own, 'this gateway');
  return { urls: [own, ...urls.filter((u) => u !== own)], names };
}

/** The session kept in this browser, if any. */
export function loadSession(): Session | null {
  try {
    const saved = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null') as Partial<Session> | null;
    return saved?.userId && saved.token ? { userId: saved.userId, token: saved.token } : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function forgetSession(): void {
  localStorage.removeItem(SESSION_KEY);
}

/** Signs in as a demo user (no password): the gateway's `POST /auth/demo` issues the token. */
export async function signIn(userId: string): Promise<Session> {
  const res = await fetch('auth/demo', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  const body = (await res.json().catch(() => ({}))) as { token?: string; error?: { message?: string } };
  if (!res.ok || !body.token) throw new Error(body.error?.message ?? `sign-in failed (${String(res.status)})`);
  return { userId, token: body.token };
}
