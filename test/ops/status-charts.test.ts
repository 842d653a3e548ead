// The status page's live charts, timeline and dead-letter view in a real browser (Debian's chromium driven
// by playwright-core) against a running cluster under load (2 bridge replicas, 2 gateways, two ops
// replicas — one read-only, one in write mode — all real processes, sampling every second); and
// `agent-bridge dlq ls|show|requeue` against the same cluster.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildStatusBundle } from '@agent-bridge/ops';
import { JobName, type KeyLayout, keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis, getRun, registerRun } from '@agent-bridge/redis';
import { ServiceProcess, waitFor } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { type Browser, type Page, chromium } from 'playwright-core';
import { E2ECluster, ROOT } from '../e2e/harness';
import { ChartLoad } from './load';

const execFileAsync = promisify(execFile);
const OPS_ENTRY = join(ROOT, 'services/ops/src/main.ts');
const CLI_ENTRY = join(ROOT, 'services/ops/src/cli/main.ts');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const OPS_USER = 'ops';
const OPS_PASSWORD = 'status-charts-test-pw';

const ENV = {
  AB_HEALTH_INTERVAL_MS: '500',
  AB_HEARTBEAT_INTERVAL_MS: '300',
  AB_HEARTBEAT_TTL_MS: '1500',
  AB_OPS_REFRESH_MS: '500',
  AB_OPS_SAMPLE_INTERVAL_MS: '1000',
  AB_OPS_PASSWORD: OPS_PASSWORD,
};

let cluster: E2ECluster;
let keys: KeyLayout;
let conn: RedisConnection;
let eventsQueue: Queue;
let load: ChartLoad;
let browser: Browser;
const ops: { ro?: { proc: ServiceProcess; url: string }; rw?: { proc: ServiceProcess; url: string } } = {};

async function startOps(name: string, env: Record<string, string>): Promise<{ proc: ServiceProcess; url: string }> {
  const proc = ServiceProcess.start({
    entry: OPS_ENTRY,
    name,
    env: { ...cluster.env, PORT: '0', AB_INSTANCE_ID: `${cluster.prefix}-${name}`, ...env },
  });
  const port = Number((await proc.waitForOutput(/ops ready on port (\d+)/, 60_000))[1]);
  return { proc, url: `http://127.0.0.1:${port}` };
}

async function cli(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--conditions=@agent-bridge/source', '--import', 'tsx', CLI_ENTRY, ...args],
      { cwd: ROOT, env: { ...process.env, ...cluster.env, LOG_LEVEL: 'silent', ...env } },
    );
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

async function openStatus(url: string): Promise<Page> {
  // en-US: a locale whose own time format is 12-hour, which the page must not use.
  const context = await browser.newContext({
    httpCredentials: { username: OPS_USER, password: OPS_PASSWORD },
    locale: 'en-US',
  });
  // No network but the ops service itself: the chart library must be served locally.
  await context.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
  const page = await context.newPage();
  await page.goto(`${url}/status`);
  return page;
}

/** Puts an event of a run nobody registered on the events queue: the bridge dead-letters it (NOT_FOUND). */
async function rejectedEvent(runId: string): Promise<string> {
  const id = `ev-${randomUUID()}`;
  const envelope = { id, runId, seq: 1, epoch: 0, type: 'agent_thinking', ts: Date.now(), payload: { delta: 'late' } };
  await eventsQueue.add(JobName.Event, envelope, { jobId: id });
  return id;
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // The page's script is built from status-page/*.ts, as `npm start` does: never an older build.
  await buildStatusBundle();
  cluster = await E2ECluster.start({ bridges: 2, gateways: 2, env: ENV });
  keys = keyLayout(cluster.prefix);
  conn = createRedis(cluster.config, 'command');
  eventsQueue = new Queue(cluster.config.queues.events, { connection: conn, prefix: keys.bullPrefix });
  [ops.ro, ops.rw] = await Promise.all([startOps('ops-ro', {}), startOps('ops-rw', { AB_OPS_READ_ONLY: 'false' })]);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  load = await ChartLoad.start(cluster, { runs: 4, eventsPerSecond: 20 });
}, 180_000);

afterAll(async () => {
  // Each may be unset: a beforeAll that failed stopped part-way.
  await (load as ChartLoad | undefined)?.stop();
  await (browser as Browser | undefined)?.close();
  await Promise.all([ops.ro?.proc.kill(), ops.rw?.proc.kill()]);
  await (eventsQueue as Queue | undefined)?.close();
  if ((conn as RedisConnection | undefined) !== undefined) await closeRedis(conn);
  await (cluster as E2ECluster | undefined)?.stop();
});

describe('status page charts, timeline and dead-letter view against a running cluster under load', () => {
  test('the charts fill with live data, and the timeline shows the leader change after the leader is SIGKILLed', async () => {
    const page = await openStatus(ops.ro!.url);
    const chartHas = (id: string, min: { points: number; max?: number }) =>
      page.waitForFunction(
        ([chartId, points, max]) => {
          const box = document.getElementById(`chart-${chartId}`);
          return (
            box !== null &&
            box.querySelector('canvas') !== null &&
            Number(box.getAttribute('data-points')) >= points &&
            Number(box.getAttribute('data-values')) > 0 &&
            Number(box.getAttribute('data-max') || 0) >= max
          );
        },
        [id, min.points, min.max ?? 0] as const,
        { timeout: 60_000, polling: 250 },
      );
    // Deliveries and latency are diffs of the gateways' counters: non-zero once load has flowed for a while.
    await chartHas('deliveries', { points: 5, max: 1 });
    await chartHas('latency', { points: 5, max: 1 });
    await chartHas('queue', { points: 5 });
    await chartHas('lag', { points: 5 });
    await chartHas('connections', { points: 5, max: 1 });
    await chartHas('dead-letters', { points: 5 });
    expect(load.delivered).toBeGreaterThan(0);
    // Under the cursor, the legend names the point's time in the axis' 24-hour format (uPlot's own is 12-hour).
    await page.locator('#chart-deliveries .u-over').hover();
    const legendTime = await page.waitForFunction(
      () => {
        const t = document.querySelector('#chart-deliveries .u-legend .u-series .u-value')?.textContent ?? '--';
        return t === '--' ? null : t;
      },
      undefined,
      { timeout: 10_000, polling: 100 },
    );
    expect(await legendTime.jsonValue()).toMatch(/^\d{2}:\d{2}:\d{2}$/);
    await page.screenshot({ path: join(ARTIFACTS, 'status-charts-1-load.png'), fullPage: true });

    const leader = await waitFor('a leader', async () => (await conn.hget(keys.leader, 'id')) ?? null, {
      timeoutMs: 30_000,
    });
    const n = Number(/-bridge-(\d+)$/.exec(leader)?.[1]);
    const other = `${cluster.prefix}-bridge-${n === 1 ? 2 : 1}`;
    await cluster.bridges[n - 1]!.kill();
    await page.waitForFunction(
      (want) =>
        [...document.querySelectorAll('#timeline li[data-kind="leader"]')].some((li) =>
          li.textContent.includes(`→ ${want}`),
        ),
      other,
      { timeout: 60_000, polling: 250 },
    );
    const entries = await page.locator('#timeline li[data-kind="leader"]').allTextContents();
    expect(entries.some((t) => t.includes(`leader ${leader}`))).toBe(true);
    // The timeline's times are 24-hour HH:MM:SS, as on the charts' time axis.
    const times = await page.locator('#timeline li time').allTextContents();
    expect(times.length).toBeGreaterThan(0);
    for (const t of times) expect(t).toMatch(/^\d{2}:\d{2}:\d{2}$/);
    await page.screenshot({ path: join(ARTIFACTS, 'status-charts-2-leader-change.png'), fullPage: true });
    await page.context().close();
  }, 180_000);

  test('the dead-letter view lists a rejected event with its reason; read-only refuses requeue; write mode requeues it', async () => {
    const runId = `late-${randomUUID().slice(0, 8)}`;
    const eventId = await rejectedEvent(runId);
    const rowOf = (page: Page) => page.locator('#dlq tbody tr', { hasText: runId });

    const ro = await openStatus(ops.ro!.url);
    await rowOf(ro).waitFor({ timeout: 60_000 });
    const cells = await rowOf(ro).locator('td').allTextContents();
    expect(cells[3]).toBe('NOT_FOUND');
    expect(cells[4]).toBe(`run ${runId} is not registered (register it before its first event)`);
    expect(await ro.textContent('#dlq-mode')).toContain('Read-only');
    expect(await rowOf(ro).locator('button', { hasText: 'requeue' }).count()).toBe(0);
    await rowOf(ro).locator('button', { hasText: 'show' }).click();
    await ro.waitForFunction((id) => (document.getElementById('dlq-detail')?.textContent ?? '').includes(id), eventId);
    const id = await rowOf(ro).getAttribute('data-id');
    // The API refuses too, whatever the page shows.
    const refused = await ro.evaluate(
      (dlqId) =>
        fetch(`/api/dlq/${encodeURIComponent(dlqId)}/requeue`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: { code: string } } })),
      id!,
    );
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    await ro.context().close();

    await registerRun(conn, keys, { runId, owner: 'dlq-user', agent: 'e2e' });
    const rw = await openStatus(ops.rw!.url);
    await rowOf(rw).waitFor({ timeout: 60_000 });
    await rowOf(rw).locator('button', { hasText: 'requeue' }).click();
    await rw.waitForFunction(() => (document.getElementById('dlq-message')?.textContent ?? '').startsWith('requeued'));
    await rowOf(rw).waitFor({ state: 'detached', timeout: 30_000 });
    // Put back, the event now commits as the run's first.
    await waitFor('requeued event committed', async () => (await getRun(conn, keys, runId))?.headSeq === 1, {
      timeoutMs: 60_000,
    });
    await rw.context().close();
  }, 180_000);

  test('agent-bridge dlq ls / show / requeue (refused while read-only), human and --json', async () => {
    const runId = `cli-${randomUUID().slice(0, 8)}`;
    await rejectedEvent(runId);
    const record = await waitFor(
      'the CLI lists the dead letter',
      async () => {
        const ls = await cli({}, 'dlq', 'ls', '--json');
        const res = JSON.parse(ls.out) as { records: { id: string; runId: string; reason: { code: string } }[] };
        return res.records.find((r) => r.runId === runId) ?? null;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(record.reason.code).toBe('NOT_FOUND');
    const human = await cli({}, 'dlq', 'ls');
    expect(human.code).toBe(0);
    expect(human.out).toMatch(
      new RegExp(`^${record.id} .* ${runId} +1 +NOT_FOUND +run ${runId} is not registered`, 'm'),
    );

    const show = await cli({}, 'dlq', 'show', record.id);
    expect(show.code).toBe(0);
    expect(show.out).toContain(`reason NOT_FOUND: run ${runId} is not registered`);
    expect(show.out).toContain(`"runId": "${runId}"`);

    const refused = await cli({}, 'dlq', 'requeue', record.id);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('FORBIDDEN');
    expect((await cli({}, 'dlq', 'show', record.id)).code).toBe(0);

    await registerRun(conn, keys, { runId, owner: 'dlq-user', agent: 'e2e' });
    const requeued = await cli({ AB_OPS_READ_ONLY: 'false' }, 'dlq', 'requeue', record.id, '--json');
    expect(requeued.code).toBe(0);
    expect(JSON.parse(requeued.out)).toEqual({
      id: record.id,
      queue: cluster.config.queues.events,
      jobId: `requeue-${record.id}`,
      name: JobName.Event,
    });
    await waitFor('requeued event committed', async () => (await getRun(conn, keys, runId))?.headSeq === 1, {
      timeoutMs: 60_000,
    });
    const gone = await cli({}, 'dlq', 'show', record.id);
    expect(gone.code).toBe(1);
    expect(gone.err).toContain(`NOT_FOUND: dead letter ${record.id} not found`);
  }, 180_000);
});
