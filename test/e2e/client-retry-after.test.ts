/**
 * The client SDK waits as long as a gateway's refusal asks (RATE_LIMITED `retryAfterMs`, and the longest
 * reconnect delay on TOO_MANY_CONNECTIONS) instead of hammering it, against real gateway processes with
 * tight limits. The client's backoff is set short here (20 ms, capped at 200 ms / 1 s) so that a client
 * ignoring the hint would be caught retrying many times within one window.
 */
import { type BridgeClient, connect } from '@agent-bridge/client';
import { keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis, registerRun } from '@agent-bridge/redis';
import { waitFor } from '@agent-bridge/testing';
import { E2ECluster, tokenFor } from './harness';

jest.setTimeout(180_000);

const WINDOW_MS = 3_000;
const IP_REQUESTS = 4;

let cluster: E2ECluster;
let limited: string;
let conn: RedisConnection;
const clients: BridgeClient[] = [];

beforeAll(async () => {
  // One client IP (127.0.0.1) may send 4 requests (connection attempts, subscribes) per 3 s.
  cluster = await E2ECluster.start({
    bridges: 0,
    gateways: 1,
    env: { AB_LIMIT_IP_REQUESTS: String(IP_REQUESTS), AB_LIMIT_REQUEST_WINDOW_MS: String(WINDOW_MS) },
  });
  limited = cluster.gateways[0]!.url;
  conn = createRedis(cluster.config, 'command');
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await closeRedis(conn);
  await cluster.stop();
});

function client(url: string, userId: string, reconnectDelayMaxMs: number): BridgeClient {
  const c = connect(url, {
    token: () => tokenFor(cluster, userId),
    reconnectDelayMs: 20,
    reconnectDelayMaxMs,
    transports: ['websocket'],
  });
  clients.push(c);
  return c;
}

/** Spends the IP's budget of the current window with plain HTTP requests (they count like connections). */
async function spendIpBudget(): Promise<void> {
  for (let i = 0; i < IP_REQUESTS + 2; i++) await fetch(`${limited}/no-such-page`);
  const res = await fetch(`${limited}/no-such-page`);
  expect(res.status).toBe(429);
}

describe('client SDK honours retry-after (RATE_LIMITED, TOO_MANY_CONNECTIONS)', () => {
  it('a connection refused RATE_LIMITED is retried once the window has passed, not every few ms', async () => {
    await spendIpBudget();
    const c = client(limited, 'conn-user', 200);
    await c.waitConnected(WINDOW_MS * 5);
    // A client ignoring retryAfterMs retries every ≤ 200 ms: ~15 refusals within the 3 s window.
    expect(c.stats().refusedConnects).toBeGreaterThanOrEqual(1);
    expect(c.stats().refusedConnects).toBeLessThanOrEqual(2);
  });

  it('subscribes answered RATE_LIMITED are sent again after retryAfterMs; every run becomes ready', async () => {
    const keys = keyLayout(cluster.config.keyPrefix);
    const runIds = Array.from({ length: 6 }, (_, i) => `rl-run-${i}`);
    for (const runId of runIds) await registerRun(conn, keys, { runId, owner: 'sub-user', agent: 'demo' });
    await spendIpBudget();
    const c = client(limited, 'sub-user', 200);
    await c.waitConnected(WINDOW_MS * 5);
    const subs = runIds.map((runId) => c.subscribe(runId, () => undefined));
    await Promise.all(subs.map((s) => s.ready));
    // 6 first subscribes, then one more for each refused one per window it waited: a client retrying
    // every 20 ms would have sent hundreds.
    expect(c.stats().subscribeRequests).toBeLessThanOrEqual(runIds.length * 3);
  });

  it('TOO_MANY_CONNECTIONS: the second connection of a user waits the longest reconnect delay between attempts, and gets in once the first closes', async () => {
    // Its own gateway and key prefix: one connection per user, no request limit.
    const gw = await cluster.startGateway('gateway-conns', {
      AB_KEY_PREFIX: `${cluster.prefix}-conns`,
      AB_LIMIT_USER_CONNECTIONS: '1',
      AB_LIMIT_IP_REQUESTS: '0',
    });
    const first = client(gw.url, 'one-conn-user', 1_000);
    await first.waitConnected(30_000);
    const second = client(gw.url, 'one-conn-user', 1_000);
    await waitFor('a refusal', () => second.stats().refusedConnects >= 1 || null, { timeoutMs: 30_000 });
    const since = Date.now();
    const before = second.stats().refusedConnects;
    await new Promise((r) => setTimeout(r, 3_000));
    const perSecond = ((second.stats().refusedConnects - before) * 1_000) / (Date.now() - since);
    // Exponential backoff from 20 ms would retry ~8 times in these 3 s; waiting ≥ 1 s allows at most ~3.
    expect(perSecond).toBeLessThanOrEqual(1.1);
    first.close();
    await second.waitConnected(30_000);
  });
});
