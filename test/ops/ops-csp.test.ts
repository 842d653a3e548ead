// The ops pages under their Content-Security-Policy in a real browser (Debian's chromium driven by
// playwright-core): the status page (uPlot charts) and Bull Board must work with the policy ops sends,
// with no violation but Bull Board's Google Fonts stylesheet, which the policy refuses on purpose.
import { randomUUID } from 'node:crypto';
import { loadConfig } from '@agent-bridge/config';
import { type OpsServer, buildStatusBundle, createOpsServer } from '@agent-bridge/ops';
import { silentLogger } from '@agent-bridge/telemetry';
import { type RedisServer, startRedis } from '@agent-bridge/testing';
import { type Browser, type Page, chromium } from 'playwright-core';

jest.setTimeout(180_000);

const USER = 'ops';
const PASSWORD = 'ops-csp-test-password';

let redis: RedisServer;
let server: OpsServer;
let browser: Browser;
let base: string;
let eventsQueue: string;

beforeAll(async () => {
  // The page's script is built from status-page/*.ts, as `npm start` does: never an older build.
  await buildStatusBundle();
  redis = await startRedis();
  const config = loadConfig({
    env: {},
    overrides: {
      REDIS_URL: redis.url,
      AB_KEY_PREFIX: `csp-${randomUUID().slice(0, 8)}`,
      AB_OPS_PASSWORD: PASSWORD,
      AB_OPS_SAMPLE_INTERVAL_MS: 500,
      AB_OPS_REFRESH_MS: 500,
      PORT: 0,
    },
  });
  eventsQueue = config.queues.events;
  server = createOpsServer(config, silentLogger(), { host: '127.0.0.1' });
  await server.start();
  base = `http://127.0.0.1:${server.port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  // Each may be unset: a beforeAll that failed stopped part-way.
  await (browser as Browser | undefined)?.close();
  await (server as OpsServer | undefined)?.close();
  await (redis as RedisServer | undefined)?.destroy();
});

/** Opens `path` and records every CSP violation and script error the page reports. */
async function open(path: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD } });
  // Nothing but the ops service itself: a page that needs the internet fails here.
  await context.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto(`${base}${path}`);
  return { page, problems };
}

describe('ops pages work under their Content-Security-Policy', () => {
  test('the status page renders its uPlot charts and live state with no CSP violation', async () => {
    const { page, problems } = await open('/status');
    await page.waitForSelector('#chart-deliveries .uplot canvas', { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('#state')?.textContent !== '…', undefined, {
      timeout: 60_000,
    });
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test('Bull Board renders its queue list; the only refusal is the third-party font stylesheet', async () => {
    const { page, problems } = await open('/board/');
    await page.getByText(eventsQueue).first().waitFor({ timeout: 60_000 });
    expect(problems.filter((p) => !p.includes('https://fonts.googleapis.com'))).toEqual([]);
    // The browser did report that refusal: the listener sees CSP violations, so [] above means none.
    expect(problems.some((p) => p.includes('https://fonts.googleapis.com'))).toBe(true);
    await page.context().close();
  });
});
