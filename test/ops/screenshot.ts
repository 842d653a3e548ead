// Re-makes docs/images/status-page.png: the status page with live charts during a load, a leader change
// and a dead letter. Starts its own redis-server and cluster (2 bridges, 2 gateways, ops) on free ports,
// drives Debian's chromium, and stops everything it started.
//
//   /work/wt/heavy npm run docs:status-screenshot      (about 2 minutes)
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildStatusBundle } from '@agent-bridge/ops';
import { JobName, keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { ServiceProcess, sleep } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { chromium } from 'playwright-core';
import { E2ECluster, ROOT } from '../e2e/harness';
import { ChartLoad } from './load';

const OUT = join(ROOT, 'docs/images/status-page.png');
const PASSWORD = 'screenshot-ops-pw';

async function main(): Promise<void> {
  await buildStatusBundle();
  const cluster = await E2ECluster.start({
    bridges: 2,
    gateways: 2,
    env: { AB_OPS_SAMPLE_INTERVAL_MS: '2000', AB_OPS_PASSWORD: PASSWORD },
  });
  const conn = createRedis(cluster.config, 'command');
  const keys = keyLayout(cluster.prefix);
  const loads: ChartLoad[] = [];
  const ops = ServiceProcess.start({
    entry: join(ROOT, 'services/ops/src/main.ts'),
    name: 'ops',
    env: { ...cluster.env, PORT: '0', LOG_LEVEL: 'info', AB_INSTANCE_ID: `${cluster.prefix}-ops` },
  });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const port = Number((await ops.waitForOutput(/ops ready on port (\d+)/, 60_000))[1]);
    // A load that steps up, a rejected event, then the leader killed: every chart and the timeline move.
    loads.push(await ChartLoad.start(cluster, { runs: 4, eventsPerSecond: 20, name: 'light' }));
    await sleep(30_000);
    loads.push(await ChartLoad.start(cluster, { runs: 8, eventsPerSecond: 60, name: 'heavy' }));
    const events = new Queue(cluster.config.queues.events, { connection: conn, prefix: keys.bullPrefix });
    const id = `ev-${randomUUID()}`;
    const envelope = { id, runId: 'never-registered', seq: 1, epoch: 0, type: 'agent_thinking', ts: Date.now() };
    await events.add(JobName.Event, { ...envelope, payload: { delta: 'x' } }, { jobId: id });
    await events.close();
    await sleep(20_000);
    const leader = await conn.hget(keys.leader, 'id');
    const n = Number(/-bridge-(\d+)$/.exec(leader ?? '')?.[1] ?? 1);
    await cluster.bridges[n - 1]?.kill();
    await sleep(30_000);

    const context = await browser.newContext({
      httpCredentials: { username: 'ops', password: PASSWORD },
      viewport: { width: 1280, height: 900 },
    });
    await context.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/status`);
    await page.waitForFunction(
      () => Number(document.getElementById('chart-deliveries')?.getAttribute('data-values')) > 10,
      undefined,
      { timeout: 30_000 },
    );
    await page.waitForSelector('#dlq tbody tr');
    await sleep(1_000);
    mkdirSync(join(ROOT, 'docs/images'), { recursive: true });
    await page.locator('#charts-section').screenshot({ path: OUT });
    process.stdout.write(`wrote ${OUT}\n`);
  } finally {
    for (const l of loads) await l.stop();
    await browser.close();
    await ops.kill();
    await closeRedis(conn);
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
