// The live status page in a real browser (Debian's chromium driven by playwright-core) against a running
// cluster (2 bridge replicas, 2 gateways, ops — real processes): it shows ACTIVE, then the change when
// every gateway is killed, then the recovery when a gateway comes back — all without a reload. The
// `agent-bridge` CLI is run against the same cluster, both output forms, with its real exit codes.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildStatusBundle } from '@agent-bridge/ops';
import { ServiceProcess } from '@agent-bridge/testing';
import { type Browser, type Page, chromium } from 'playwright-core';
import { E2ECluster, ROOT } from '../e2e/harness';

const execFileAsync = promisify(execFile);
const OPS_ENTRY = join(ROOT, 'services/ops/src/main.ts');
const CLI_ENTRY = join(ROOT, 'services/ops/src/cli/main.ts');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const OPS_USER = 'ops';
const OPS_PASSWORD = 'status-page-test-pw';

const FAST = {
  AB_HEALTH_INTERVAL_MS: '500',
  AB_HEARTBEAT_INTERVAL_MS: '300',
  AB_HEARTBEAT_TTL_MS: '1500',
  AB_OPS_REFRESH_MS: '300',
  AB_OPS_PASSWORD: OPS_PASSWORD,
};

let cluster: E2ECluster;
let ops: ServiceProcess;
let opsUrl: string;
let browser: Browser;

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--conditions=@agent-bridge/source', '--import', 'tsx', CLI_ENTRY, ...args],
      { cwd: ROOT, env: { ...process.env, ...cluster.env, LOG_LEVEL: 'silent' } },
    );
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

async function stateShown(page: Page, state: string): Promise<void> {
  await page.waitForFunction((want) => document.getElementById('state')?.getAttribute('data-state') === want, state, {
    timeout: 45_000,
    polling: 100,
  });
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // The page's script is built from status-page/*.ts, as `npm start` does: never an older build.
  await buildStatusBundle();
  cluster = await E2ECluster.start({ bridges: 2, gateways: 2, env: FAST });
  ops = ServiceProcess.start({
    entry: OPS_ENTRY,
    name: 'ops',
    env: { ...cluster.env, PORT: '0', AB_INSTANCE_ID: `${cluster.prefix}-ops` },
  });
  const port = Number((await ops.waitForOutput(/ops ready on port (\d+)/, 60_000))[1]);
  opsUrl = `http://127.0.0.1:${port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 180_000);

afterAll(async () => {
  // Each may be unset: a beforeAll that failed stopped part-way.
  await (browser as Browser | undefined)?.close();
  await (ops as ServiceProcess | undefined)?.kill();
  await (cluster as E2ECluster | undefined)?.stop();
});

describe('status page and CLI against a running cluster', () => {
  test('the status page shows ACTIVE, then FAILED when every gateway is killed, then ACTIVE again — without a reload', async () => {
    // en-US: a locale whose own time format is 12-hour, which the page must not use.
    const context = await browser.newContext({
      httpCredentials: { username: OPS_USER, password: OPS_PASSWORD },
      locale: 'en-US',
    });
    const page = await context.newPage();
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    await page.goto(`${opsUrl}/status`);
    // A marker that only survives if the page is never reloaded.
    await page.evaluate(() => ((window as unknown as { __loadMarker: string }).__loadMarker = 'first-load'));

    await stateShown(page, 'ACTIVE');
    await page.waitForFunction(() => document.querySelectorAll('#gateways tbody tr:not(.dead)').length === 2);
    expect(await page.locator('#replicas tbody tr').count()).toBe(2);
    expect(await page.textContent('#leader-leader')).toMatch(new RegExp(`^${cluster.prefix}-bridge-\\d$`));
    // The Redis topology and the Pub/Sub mode (issue 12).
    expect(await page.textContent('#redis-topology')).toBe('standalone');
    expect(await page.textContent('#redis-pub-sub')).toBe('sharded');
    expect(await page.locator('#masters tbody tr').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'status-1-active.png'), fullPage: true });

    // Fault: every gateway dies (SIGKILL) — events can no longer reach any browser.
    await Promise.all(cluster.gateways.map((g) => g.process.kill()));
    await stateShown(page, 'FAILED');
    expect(await page.textContent('#transitions tbody tr:first-child')).toContain('FAILED');
    await page.screenshot({ path: join(ARTIFACTS, 'status-2-failed.png'), fullPage: true });

    // Recovery: a gateway comes back; the leader's checks (and recovery job) bring the state back.
    await cluster.startGateway('gateway-3');
    await stateShown(page, 'ACTIVE');
    await page.screenshot({ path: join(ARTIFACTS, 'status-3-recovered.png'), fullPage: true });

    expect(await page.evaluate(() => (window as unknown as { __loadMarker?: string }).__loadMarker)).toBe('first-load');
    expect(navigations).toBe(1);
    // The history table (newest first, "to" column) shows the way back from the failure.
    const history = await page.locator('#transitions tbody tr td:nth-child(3)').allTextContents();
    expect(history[0]).toBe('ACTIVE');
    expect(history.indexOf('FAILED')).toBeGreaterThan(0);
    // Every time on the page is 24-hour HH:MM:SS, as on the charts' axis (not the locale's "8:48:12 PM").
    const times = await page.locator('#transitions tbody tr td:nth-child(1)').allTextContents();
    times.push((await page.textContent('#updated')) ?? '');
    expect(times.length).toBeGreaterThan(2);
    for (const t of times) expect(t).toMatch(/^\d{2}:\d{2}:\d{2}$/);
    await context.close();
  }, 180_000);

  test('agent-bridge status / health / runs / config against the running cluster, human and --json', async () => {
    const status = await cli('status');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^integration {2}ACTIVE/m);
    expect(status.out).toMatch(new RegExp(`^leader {7}${cluster.prefix}-bridge-\\d {2}epoch \\d+`, 'm'));

    const statusJson = await cli('status', '--json');
    expect(statusJson.code).toBe(0);
    const s = JSON.parse(statusJson.out) as {
      integration: { state: string };
      replicas: { id: string; alive: boolean }[];
      gateways: { id: string; alive: boolean }[];
    };
    expect(s.integration.state).toBe('ACTIVE');
    expect(
      s.replicas
        .filter((r) => r.alive)
        .map((r) => r.id)
        .sort(),
    ).toEqual([`${cluster.prefix}-bridge-1`, `${cluster.prefix}-bridge-2`]);
    expect(s.gateways.filter((g) => g.alive).map((g) => g.id)).toEqual([`${cluster.prefix}-gateway-3`]);

    const health = await cli('health');
    expect(health.code).toBe(0);
    expect(health.out).toMatch(/^state ACTIVE/m);
    const healthJson = await cli('health', '--json');
    expect(healthJson.code).toBe(0);
    expect(JSON.parse(healthJson.out)).toMatchObject({ ok: true, state: 'ACTIVE', stale: false });

    const runs = await cli('runs', '--json');
    expect(runs.code).toBe(0);
    expect(JSON.parse(runs.out)).toEqual({ runs: [] });
    expect((await cli('runs')).out).toBe('no runs\n');

    const missing = await cli('replay', 'no-such-run');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('run no-such-run not found');

    const config = await cli('config', '--json');
    expect(config.code).toBe(0);
    expect(JSON.parse(config.out)).toMatchObject({ keyPrefix: cluster.prefix, ops: { password: '***' } });
  }, 120_000);
});
