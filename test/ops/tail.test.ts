// `agent-bridge tail` against a running cluster: the gateway it watches through is SIGKILLed mid-run and
// started again on the same port; tail must print every event of the run once, in seq order, and exit 0
// when the run ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import type { EventEnvelope } from '@agent-bridge/protocol';
import { waitFor } from '@agent-bridge/testing';
import { E2ECluster, ROOT } from '../e2e/harness';

const CLI = join(ROOT, 'services/ops/src/cli/main.ts');

let cluster: E2ECluster | undefined;
let publisher: AgentPublisher | undefined;
let child: ChildProcess | undefined;

beforeAll(async () => {
  // One event per emit (no thinking coalescing), so the count of events is known.
  cluster = await E2ECluster.start({ bridges: 1, gateways: 1, env: { AB_THINKING_COALESCE_MS: '0' } });
  publisher = await AgentPublisher.create({ config: cluster.config });
}, 180_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await publisher?.close();
  await cluster?.stop();
});

test('tail prints every event once, in order, across a gateway killed and restarted mid-run', async () => {
  const run = await publisher!.startRun({ userId: 'user-tail', agent: 'tail-test' });
  const gateway = cluster!.gateways[0]!;
  let out = '';
  let err = '';
  const proc = spawn(
    process.execPath,
    [
      '--conditions=@agent-bridge/source',
      '--import',
      'tsx',
      CLI,
      'tail',
      run.runId,
      '--gateway',
      gateway.url,
      '--json',
    ],
    { env: { ...process.env, ...cluster!.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child = proc;
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const printed = (): EventEnvelope[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as EventEnvelope);

  await waitFor('tail to connect', () => err.includes('[connected'), { timeoutMs: 60_000 });
  await run.started({ prompt: 'tail me' });
  for (let i = 0; i < 9; i++) await run.thinking(`before-${i} `);
  await waitFor('tail to print the first 10 events', () => printed().length >= 10, { timeoutMs: 60_000 });

  await gateway.process.kill();
  await waitFor('tail to notice', () => err.includes('[reconnecting]'), { timeoutMs: 60_000 });
  // Committed while no gateway runs: tail can only get these by resuming from the history.
  for (let i = 0; i < 10; i++) await run.thinking(`during-${i} `);
  await cluster!.startGateway('gateway-1-again', { PORT: String(gateway.port) });
  for (let i = 0; i < 10; i++) await run.thinking(`after-${i} `);
  await run.complete({ answer: 'done' });

  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 90_000))]);
  expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
  const events = printed();
  expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
  expect(new Set(events.map((e) => e.id)).size).toBe(31);
  expect(events.filter((e) => e.type === 'agent_thinking').map((e) => (e.payload as { delta: string }).delta)).toEqual([
    ...Array.from({ length: 9 }, (_, i) => `before-${i} `),
    ...Array.from({ length: 10 }, (_, i) => `during-${i} `),
    ...Array.from({ length: 10 }, (_, i) => `after-${i} `),
  ]);
  expect(events.at(-1)?.type).toBe('agent_completed');
  // It went through a reconnect, and came back connected.
  expect(err.match(/\[connected/g)?.length).toBeGreaterThanOrEqual(2);
}, 240_000);
