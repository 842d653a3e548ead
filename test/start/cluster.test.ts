import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentRunEvents, loadDocs, runAgent } from '@agent-bridge/demo-agent';
import { waitFor } from '@agent-bridge/testing';
import { type Browser, type Page, chromium } from 'playwright-core';
import { NpmStart, REPO_ROOT, commandLine, descendants, isAlive, portFlags } from './npm-start';

// `npm start` from the repository, then the chat page in headless Chromium against the cluster it brought
// up, then Ctrl-C. Screenshots go to test-artifacts/; AB_UPDATE_README_SCREENSHOT=1 also refreshes
// docs/images/chat.png, the README's picture.

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const README_SHOT = join(REPO_ROOT, 'docs', 'images', 'chat.png');
const CHROMIUM = '/usr/bin/chromium';

/** Types of the events the demo agent's deterministic plan gives for `prompt` (agent_started first). */
async function expectedTypes(prompt: string): Promise<string[]> {
  const types = ['agent_started'];
  const push = (type: string): Promise<void> => {
    types.push(type);
    return Promise.resolve();
  };
  const recorder: AgentRunEvents = {
    thinking: () => push('agent_thinking'),
    toolExecuting: () => push('tool_executing'),
    toolCompleted: () => push('tool_completed'),
    complete: () => push('agent_completed'),
  };
  await runAgent(recorder, prompt, { docs: loadDocs(), paceMs: 0 });
  return types;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

interface PageRun {
  runId: string | null;
  seqs: number[];
  types: string[];
  gateway: string | null;
  connection: string;
}

async function pageRun(page: Page): Promise<PageRun> {
  return page.evaluate(() => {
    const d = (window as unknown as { chatDebug: PageRun }).chatDebug;
    return { runId: d.runId, seqs: d.seqs, types: d.types, gateway: d.gateway, connection: d.connection };
  });
}

/** Seqs of the event stream rows the page rendered, in DOM order. */
async function renderedSeqs(page: Page): Promise<number[]> {
  return page.$$eval('#events li', (lis) => lis.map((li) => Number((li as HTMLElement).dataset.seq)));
}

describe('npm start: the whole cluster on one machine, and the chat page in a browser', () => {
  let stateDir: string;
  let run: NpmStart | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let chatUrl: string;
  const seenPids = new Set<number>();

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stateDir = mkdtempSync(join(tmpdir(), 'ab-start-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // Paced like a human would see it, so a gateway can be killed in the middle of a run.
      AB_DEMO_AGENT_PACE_MS: '60',
      // The page's events are compared one to one with the plan's deltas: no coalescing of thinking deltas.
      AB_THINKING_COALESCE_MS: '0',
      LOG_LEVEL: 'info',
    };
    delete env.REDIS_URL;
    run = new NpmStart(['--state-dir', stateDir, ...(await portFlags())], env);
    await run.waitForOutput(/Press Ctrl-C to stop everything/, 240_000);
    chatUrl = run.output.match(/Chat page\s+(http:\/\/localhost:\d+\/)/)?.[1] ?? '';
    for (const pid of run.reportedPids().values()) seenPids.add(pid);
    for (const pid of descendants(run.pid)) seenPids.add(pid);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    // A failed test must not leave the cluster running.
    for (const pid of [...seenPids].filter(isAlive)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    run?.killAll();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('reaches ready (integration ACTIVE) and prints the URLs and demo credentials', async () => {
    const out = run!.output;
    expect(out).toContain('agent-bridge is ready - integration ACTIVE');
    expect(chatUrl).toMatch(/^http:\/\/localhost:\d+\/$/);
    expect(out).toMatch(/Status page\s+http:\/\/localhost:\d+\/status/);
    expect(out).toMatch(/Bull Board\s+http:\/\/localhost:\d+\/board/);
    expect(out).toMatch(/Demo sign-in\s+on the chat page, any user name/);
    expect(out).toMatch(/Ops login\s+user "ops", password "change-me-ops"/);
    expect([...run!.reportedPids().keys()].sort()).toEqual([
      'bridge-1',
      'bridge-2',
      'demo-agent',
      'gateway-1',
      'gateway-2',
      'ops',
      'redis',
    ]);
    const redisPid = run!.reportedPids().get('redis') as number;
    expect(commandLine(redisPid)).toMatch(/^redis-server 127\.0\.0\.1:\d+/);
    const page = await fetch(chatUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>agent-bridge · demo chat</title>');
    const status = run!.output.match(/Status page\s+(\S+)/)?.[1] ?? '';
    expect((await fetch(status)).status).toBe(401); // behind basic auth
  });

  describe('chat page', () => {
    beforeAll(async () => {
      page = await browser!.newPage({ viewport: { width: 1280, height: 860 } });
      // The gateway list in the query string: another cluster started from this checkout at the same
      // time (another test) would overwrite the dist/config.json that the plain URL reads.
      const ports = run!.reportedPorts();
      await page.goto(`${chatUrl}?gateways=${ports.get('gateway-1')!},${ports.get('gateway-2')!}`);
      await page.fill('#user-id', 'alice');
      await page.click('#sign-in-button');
      await page.waitForSelector('#conn[data-state=connected]', { timeout: 30_000 });
    }, 60_000);

    async function send(prompt: string): Promise<string> {
      const before = (await pageRun(page)).runId;
      await page.fill('#prompt', prompt);
      await page.click('#send');
      const runId = await waitFor('the run to open', async () => {
        const id = (await pageRun(page)).runId;
        return id && id !== before ? id : null;
      });
      return runId;
    }

    it('streams a run: every event in order, each once, and the final answer', async () => {
      const prompt = 'What is 17 * 23 + 4, and how does gateway failover work?';
      const runId = await send(prompt);
      await page.waitForSelector('#run-status[data-status=completed]', { timeout: 60_000 });
      const got = await pageRun(page);
      const expected = await expectedTypes(prompt);
      expect(got.runId).toBe(runId);
      expect(got.seqs).toEqual(range(expected.length));
      expect(got.types).toEqual(expected);
      expect(await renderedSeqs(page)).toEqual(range(expected.length));
      expect(await page.textContent('.answer .item-body')).toMatch(
        /^17 \* 23 \+ 4 = 395\.\n\nFrom the knowledge base:\n- Gateways and failover: /,
      );
      expect(await page.$$eval('.tool.done', (els) => els.length)).toBe(2);
      expect(await page.textContent('#runs li .status-tag')).toBe('completed');
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(ARTIFACTS, 'chat-completed.png') });
      // The README's picture is refreshed on request only, so a test run leaves the checkout unchanged.
      if (process.env.AB_UPDATE_README_SCREENSHOT === '1' || !existsSync(README_SHOT)) {
        mkdirSync(join(REPO_ROOT, 'docs', 'images'), { recursive: true });
        await page.setViewportSize({ width: 1280, height: 1100 });
        await page.waitForTimeout(300);
        await page.screenshot({ path: README_SHOT });
        await page.setViewportSize({ width: 1280, height: 860 });
      }
    }, 120_000);

    it('SIGKILL of the gateway the page uses mid-run: it reconnects to the other one, no gap, no duplicate', async () => {
      const prompt = 'What time is it, what is (2+3)*4, and how do ordering, leadership and redis persistence work?';
      const expected = await expectedTypes(prompt);
      await send(prompt);
      await waitFor('the run to be streaming', async () => (await pageRun(page)).seqs.length >= 8, {
        timeoutMs: 60_000,
        intervalMs: 20,
      });
      const before = await pageRun(page);
      expect(before.connection).toBe('connected');
      const port = Number(new URL(before.gateway as string).port);
      const victim = [...run!.reportedPorts()].find(([, p]) => p === port)?.[0] as string;
      expect(victim).toMatch(/^gateway-\d$/);
      const pid = run!.reportedPids().get(victim) as number;
      const seqsAtKill = before.seqs.length;
      process.kill(pid, 'SIGKILL');
      await waitFor('the killed gateway to be gone', () => !isAlive(pid), { timeoutMs: 10_000 });
      // The page moves to the other gateway and resumes the run from its last seq.
      const after = await waitFor(
        'the page to reconnect to another gateway',
        async () => {
          const r = await pageRun(page);
          return r.connection === 'connected' && r.gateway !== before.gateway ? r : null;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      expect(new URL(after.gateway as string).port).not.toBe(String(port));
      expect(await page.textContent('.note')).toMatch(
        new RegExp(
          `^Connection to ${victim} \\(localhost:${port}\\) lost · resumed on gateway-\\d \\(localhost:\\d+\\) after seq \\d+$`,
        ),
      );
      await page.screenshot({ path: join(ARTIFACTS, 'chat-failover-reconnected.png') });
      await page.waitForSelector('#run-status[data-status=completed]', { timeout: 60_000 });
      const done = await pageRun(page);
      expect(seqsAtKill).toBeLessThan(expected.length); // the kill really was mid-run
      expect(done.seqs).toEqual(range(expected.length));
      expect(done.types).toEqual(expected);
      expect(await renderedSeqs(page)).toEqual(range(expected.length));
      expect(await page.textContent('#conn-text')).toContain(`connected · `);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(ARTIFACTS, 'chat-failover-completed.png') });
    }, 180_000);

    it('cancel stops a run: status cancelled, no answer, nothing after the cancellation', async () => {
      const prompt = 'Explain ordering, leadership, limits, agents and redis in detail please.';
      const expected = await expectedTypes(prompt);
      await send(prompt);
      await waitFor('the run to be streaming', async () => (await pageRun(page)).seqs.length >= 5, {
        timeoutMs: 60_000,
        intervalMs: 20,
      });
      await page.click('#cancel');
      await page.waitForSelector('#run-status[data-status=cancelled]', { timeout: 60_000 });
      const got = await pageRun(page);
      expect(got.types.at(-1)).toBe('agent_error');
      expect(got.types).not.toContain('agent_completed');
      expect(got.seqs).toEqual(range(got.seqs.length));
      expect(got.seqs.length).toBeLessThan(expected.length);
      expect(await page.textContent('.agent-error.cancelled .item-body')).toBe('cancelled by the user');
      await page.waitForTimeout(1_000);
      expect((await pageRun(page)).seqs.length).toBe(got.seqs.length);
      await page.screenshot({ path: join(ARTIFACTS, 'chat-cancelled.png') });
    }, 120_000);

    it('re-opens a past run from history (replayed in order from seq 1)', async () => {
      const items = await page.$$('#runs li');
      expect(items.length).toBe(3);
      // The oldest run (the first prompt) is last in the list.
      await items[2]?.click();
      await page.waitForSelector('#run-status[data-status=completed]', { timeout: 30_000 });
      const got = await pageRun(page);
      const expected = await expectedTypes('What is 17 * 23 + 4, and how does gateway failover work?');
      expect(got.seqs).toEqual(range(expected.length));
      expect(got.types).toEqual(expected);
      await page.screenshot({ path: join(ARTIFACTS, 'chat-reopened.png') });
    }, 60_000);
  });

  it('Ctrl-C (SIGINT) stops everything: no child process and no redis-server left', async () => {
    for (const pid of descendants(run!.pid)) seenPids.add(pid);
    const redisPid = run!.reportedPids().get('redis') as number;
    expect(seenPids.has(redisPid)).toBe(true);
    // scripts/start.mjs, the launcher, redis, 2 bridges, 2 gateways (one was SIGKILLed), ops, the agent.
    expect(seenPids.size).toBeGreaterThanOrEqual(9);
    seenPids.add(run!.pid);
    run!.interrupt();
    // npm itself exits on the SIGINT at once (its exit code is npm's business); the launcher goes on
    // stopping the cluster in order and must leave nothing behind.
    await run!.exited;
    await waitFor('the launcher to finish stopping', () => run!.output.includes('stopped; no process left behind'), {
      timeoutMs: 90_000,
    });
    const gone = await waitFor(
      'every process of the cluster to be gone',
      () => ([...seenPids].some(isAlive) ? null : true),
      { timeoutMs: 30_000 },
    );
    expect(gone).toBe(true);
    const alive = [...seenPids].filter(isAlive).map((pid) => `${pid} ${commandLine(pid)}`);
    expect(alive).toEqual([]);
    expect(run!.output).not.toMatch(/did not stop within/);
    expect(isAlive(redisPid)).toBe(false);
  }, 120_000);
});
