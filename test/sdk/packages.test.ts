// The SDK packages as a stranger gets them: `npm pack` tarballs installed into a project outside the
// workspace, the minimal-agent example compiled with that project's TypeScript and run with plain node
// against a running cluster (real Redis, bridge, gateway), watched by the Node client example and by the
// watcher-page example built with Vite and opened in Chromium.
import { createReadStream, existsSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { extname, join } from 'node:path';
import type { EventEnvelope } from '@agent-bridge/protocol';
import { waitFor } from '@agent-bridge/testing';
import { type Browser, chromium } from 'playwright-core';
import { E2ECluster, tokenFor } from '../e2e/harness';
import { NodeChild, type StrangerProject, inProject, makeStrangerProject } from './stranger';

const USER = 'user-stranger';
let project: StrangerProject | undefined;
let cluster: E2ECluster | undefined;

beforeAll(async () => {
  [project, cluster] = await Promise.all([makeStrangerProject(), E2ECluster.start({ bridges: 1, gateways: 1 })]);
}, 900_000);

afterAll(async () => {
  await cluster?.stop();
  project?.remove();
});

/** What the minimal agent publishes, in order (its four tokens may be coalesced into fewer events). */
function expectMinimalRun(events: Pick<EventEnvelope, 'seq' | 'type' | 'payload'>[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  const types = events.map((e) => e.type).filter((t, i, all) => t !== 'agent_thinking' || all[i - 1] !== t);
  expect(types).toEqual(['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed']);
  const text = events
    .filter((e) => e.type === 'agent_thinking')
    .map((e) => (e.payload as { delta: string }).delta)
    .join('');
  expect(text).toBe('Let me compute that.');
  expect(events.at(-1)?.payload).toEqual({ output: { answer: 42 } });
}

function agentEnv(runId: string): Record<string, string> {
  return { REDIS_URL: cluster!.redis.url, AB_KEY_PREFIX: cluster!.prefix, USER_ID: USER, RUN_ID: runId };
}

describe('SDK packages installed outside the workspace', () => {
  test('the tarballs hold the builds, types and Lua scripts, and load as ESM and CommonJS', async () => {
    expect(project!.tarballs.sort()).toEqual(['agent-bridge-agent-sdk-0.1.0.tgz', 'agent-bridge-client-0.1.0.tgz']);
    const sdk = join(project!.dir, 'node_modules', '@agent-bridge', 'agent-sdk');
    for (const file of [
      'lib/index.mjs',
      'lib/index.js',
      'lib/index.d.ts',
      'lib/index.d.mts',
      'lua/register-run-1.lua',
    ]) {
      expect(existsSync(join(sdk, file))).toBe(true);
    }
    // Nothing of the workspace leaked in: every import of the builds is a declared dependency or built in.
    expect(existsSync(join(project!.dir, 'node_modules', '@agent-bridge', 'protocol'))).toBe(false);
    const loaded = await inProject(project!, process.execPath, [
      '-e',
      `const sdk = require('@agent-bridge/agent-sdk'); const client = require('@agent-bridge/client');
       import('@agent-bridge/client').then((esm) => console.log(typeof sdk.AgentPublisher.create, typeof client.connect,
         typeof esm.connect, new client.AgentBridgeError('UNAVAILABLE', 'x').code));`,
    ]);
    expect(loaded.trim()).toBe('function function function UNAVAILABLE');
  });

  test('a TypeScript agent and a Node client compiled against the tarballs stream a run in order', async () => {
    await inProject(project!, process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.']);
    const token = await tokenFor(cluster!, USER);
    const watcher = new NodeChild(project!, 'dist/watch.js', { GATEWAY_URL: cluster!.gateways[0]!.url, TOKEN: token });
    try {
      const first = await waitFor('the watcher to print its run id', () => watcher.lines()[0], { timeoutMs: 60_000 });
      const { runId } = JSON.parse(first) as { runId: string };
      const agent = new NodeChild(project!, 'dist/agent.js', agentEnv(runId));
      expect(await agent.exited).toBe(0);
      expect(agent.stdout).toContain(`run ${runId} published`);
      const code = await Promise.race([watcher.exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
      expect({ code, stderr: watcher.stderr }).toEqual({ code: 0, stderr: '' });
      const events = watcher
        .lines()
        .slice(1)
        .map((l) => JSON.parse(l) as EventEnvelope);
      expect(events.every((e) => e.runId === runId)).toBe(true);
      expectMinimalRun(events);
    } finally {
      watcher.kill();
    }
  }, 180_000);

  test('a page built with Vite from the client package streams a run in Chromium', async () => {
    const page = join(project!.dir, 'page');
    await inProject(project!, process.execPath, ['../node_modules/typescript/bin/tsc', '-p', '.'], page);
    await inProject(
      project!,
      process.execPath,
      ['../node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'],
      page,
    );
    const server = await serveStatic(join(page, 'dist'));
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (err) => errors.push(err.message));
      const query = new URLSearchParams({ gateway: cluster!.gateways[0]!.url, token: await tokenFor(cluster!, USER) });
      await tab.goto(`${server.url}/?${query.toString()}`);
      await tab.waitForFunction(() => document.getElementById('run')?.textContent.startsWith('run-'), undefined, {
        timeout: 60_000,
      });
      const runId = (await tab.textContent('#run'))!;
      const agent = new NodeChild(project!, 'dist/agent.js', agentEnv(runId));
      expect(await agent.exited).toBe(0);
      await tab.waitForFunction(
        () => document.querySelector('#events')?.textContent.includes('agent_completed'),
        undefined,
        {
          timeout: 60_000,
        },
      );
      const shown = await tab.$$eval('#events li', (items) => items.map((li) => li.textContent));
      const events = shown.map((line) => {
        const [seq, type, ...payload] = line.split(' ');
        return { seq: Number(seq), type: type!, payload: JSON.parse(payload.join(' ')) as unknown };
      });
      expectMinimalRun(events);
      expect(await tab.textContent('#answer')).toBe('Let me compute that.');
      expect(errors).toEqual([]);
    } finally {
      await browser?.close();
      server.server.closeAllConnections();
      await new Promise((resolve) => server.server.close(resolve));
    }
  }, 240_000);
});

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

/** Serves a built folder on 127.0.0.1 (an origin the gateway's default CORS list allows). */
async function serveStatic(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = join(root, path === '/' ? 'index.html' : path);
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return { server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
}
