import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type EventEnvelope, JobName, type StartRunJob, keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis, getRun, readHistory, requestCancel } from '@agent-bridge/redis';
import { silentLogger } from '@agent-bridge/telemetry';
import { type RedisServer, ServiceProcess, startRedis, waitFor } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { type AgentRunEvents, runAgent } from './agent';
import { planRun, thinkingDeltas } from './plan';
import { DemoAgentService } from './service';
import { loadDocs } from './tools/search';

const BRIDGE_MAIN = join(__dirname, '..', '..', 'bridge', 'src', 'main.ts');

/** The events the deterministic plan of `prompt` gives, as `type` + payload (clock fixed). */
async function expectedEvents(prompt: string): Promise<{ type: string; payload: unknown }[]> {
  const events: { type: string; payload: unknown }[] = [
    { type: 'agent_started', payload: { agent: 'demo-agent', input: { prompt } } },
  ];
  const push = (type: string, payload: unknown): Promise<void> => {
    events.push({ type, payload });
    return Promise.resolve();
  };
  const recorder: AgentRunEvents = {
    thinking: (delta) => push('agent_thinking', { delta }),
    toolExecuting: (call) => push('tool_executing', call),
    toolCompleted: (call) => push('tool_completed', call),
    complete: (output) => push('agent_completed', { output }),
  };
  await runAgent(recorder, prompt, { docs: loadDocs(), paceMs: 0 });
  return events;
}

describe('demo agent service (real Redis, BullMQ, a bridge replica process, the agent SDK)', () => {
  let redis: RedisServer | undefined;
  let config: AppConfig;
  let conn: RedisConnection | undefined;
  let bridge: ServiceProcess | undefined;
  let publisher: AgentPublisher | undefined;
  let queue: Queue | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    const prefix = `demo-${randomUUID().slice(0, 8)}`;
    config = loadConfig({
      env: {},
      overrides: { REDIS_URL: redis.url, AB_KEY_PREFIX: prefix, AB_THINKING_COALESCE_MS: 0 },
    });
    conn = createRedis(config, 'command');
    bridge = ServiceProcess.start({
      name: 'bridge',
      entry: BRIDGE_MAIN,
      env: { REDIS_URL: redis.url, AB_KEY_PREFIX: prefix, PORT: '0', LOG_LEVEL: 'info', AB_INSTANCE_ID: 'bridge-t' },
    });
    await bridge.waitForOutput(/bridge ready/, 60_000);
    publisher = await AgentPublisher.create({ config, logger: silentLogger() });
    queue = new Queue(config.queues.runs, { connection: conn, prefix: keyLayout(config.keyPrefix).bullPrefix });
  }, 90_000);

  afterAll(async () => {
    await queue?.close();
    await publisher?.close();
    await bridge?.terminate();
    if (conn) await closeRedis(conn);
    await redis?.destroy();
  });

  async function startRun(prompt: string): Promise<string> {
    const runId = `run-${randomUUID()}`;
    const job: StartRunJob = { runId, userId: 'alice', prompt, agent: 'demo-agent', requestedAt: Date.now() };
    await queue!.add(JobName.StartRun, job, { jobId: runId });
    return runId;
  }

  async function history(runId: string): Promise<EventEnvelope[]> {
    return (await readHistory(conn!, keyLayout(config.keyPrefix), runId, 0, 10_000)).events;
  }

  it('a start_run job produces the expected event sequence in the run history (seq 1..N, in plan order)', async () => {
    const service = new DemoAgentService({ config, logger: silentLogger(), publisher: publisher!, paceMs: 0 });
    await service.start();
    try {
      const prompt = 'What is 17 * 23 + 4, and how does gateway failover work?';
      const runId = await startRun(prompt);
      const events = await waitFor(
        'the run to complete in history',
        async () => {
          const h = await history(runId);
          return h.at(-1)?.type === 'agent_completed' ? h : null;
        },
        { timeoutMs: 30_000 },
      );
      const expected = await expectedEvents(prompt);
      expect(events.map((e) => e.seq)).toEqual(expected.map((_, i) => i + 1));
      expect(events.map((e) => ({ type: e.type, payload: e.payload }))).toEqual(expected);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      expect(events.at(-1)?.payload).toEqual({
        output: {
          answer: expect.stringMatching(
            /^17 \* 23 \+ 4 = 395\.\n\nFrom the knowledge base:\n- Gateways and failover: /,
          ) as string,
        },
      });
      const run = await getRun(conn!, keyLayout(config.keyPrefix), runId);
      expect(run).toMatchObject({ runId, owner: 'alice', agent: 'demo-agent', status: 'completed' });
      expect(service.getStatus()).toMatchObject({ state: 'running', completed: 1, cancelled: 0, failed: 0, active: 0 });
    } finally {
      await service.close();
    }
  }, 60_000);

  it('cancel_run stops the run at its next event and records it as cancelled (no agent_completed)', async () => {
    // Paced, so the run is still streaming when the cancel arrives.
    const service = new DemoAgentService({ config, logger: silentLogger(), publisher: publisher!, paceMs: 50 });
    await service.start();
    try {
      const runId = await startRun('Tell me how ordering, leadership, limits and redis persistence work together.');
      await waitFor('some thinking to be committed', async () => (await history(runId)).length >= 5, {
        timeoutMs: 30_000,
      });
      expect(await requestCancel(conn!, keyLayout(config.keyPrefix), runId)).toBe(true);
      const events = await waitFor(
        'the cancellation to be committed',
        async () => {
          const h = await history(runId);
          return h.at(-1)?.type === 'agent_error' ? h : null;
        },
        { timeoutMs: 30_000 },
      );
      expect(events.at(-1)?.payload).toEqual({ message: 'cancelled by the user', code: 'cancelled' });
      expect(events.some((e) => e.type === 'agent_completed')).toBe(false);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      // It stopped early: far fewer events than the whole plan.
      const whole = await expectedEvents(
        'Tell me how ordering, leadership, limits and redis persistence work together.',
      );
      expect(events.length).toBeLessThan(whole.length);
      expect((await getRun(conn!, keyLayout(config.keyPrefix), runId))?.status).toBe('cancelled');
      // Nothing more arrives after the cancellation.
      await new Promise((r) => setTimeout(r, 500));
      expect((await history(runId)).length).toBe(events.length);
      expect(service.getStatus()).toMatchObject({ cancelled: 1, completed: 0 });
    } finally {
      await service.close();
    }
  }, 60_000);

  it('a run another agent process had started (it died mid-run) is resumed where its history stands: no step twice', async () => {
    const prompt = 'What is 6 * 7, and how do leaders use fencing?';
    const runId = `run-${randomUUID()}`;
    // The "dead" process: it registered the run and published the first 4 events of the plan, then vanished.
    const first = planRun(prompt)[0];
    if (first?.kind !== 'think') throw new Error('the plan starts with a thought');
    const dead = await publisher!.startRun({ userId: 'alice', agent: 'demo-agent', runId });
    await dead.started({ prompt });
    for (const delta of thinkingDeltas(`${first.text}\n`).slice(0, 3)) await dead.thinking(delta);
    dead.close();
    await waitFor('the first 4 events to be committed', async () => (await history(runId)).length === 4);

    const service = new DemoAgentService({ config, logger: silentLogger(), publisher: publisher!, paceMs: 0 });
    await service.start();
    try {
      // BullMQ hands the run's job to a live worker (here: the job is simply enqueued again).
      const job: StartRunJob = { runId, userId: 'alice', prompt, agent: 'demo-agent', requestedAt: Date.now() };
      await queue!.add(JobName.StartRun, job, { jobId: `${runId}-retry` });
      const events = await waitFor(
        'the resumed run to complete',
        async () => {
          const h = await history(runId);
          return h.at(-1)?.type === 'agent_completed' ? h : null;
        },
        { timeoutMs: 30_000 },
      );
      const expected = await expectedEvents(prompt);
      expect(events.map((e) => e.seq)).toEqual(expected.map((_, i) => i + 1));
      expect(events.map((e) => ({ type: e.type, payload: e.payload }))).toEqual(expected);
    } finally {
      await service.close();
    }
  }, 60_000);

  it('an invalid start_run job fails visibly without crashing the worker', async () => {
    const service = new DemoAgentService({ config, logger: silentLogger(), publisher: publisher!, paceMs: 0 });
    await service.start();
    try {
      const job = await queue!.add(
        JobName.StartRun,
        { runId: 'bad:id', prompt: '' },
        {
          jobId: `bad-${randomUUID()}`,
        },
      );
      const failedReason = await waitFor(
        'the job to fail',
        async () => (await queue!.getJob(job.id ?? ''))?.failedReason,
      );
      expect(failedReason).toMatch(/^invalid start_run job: /);
      // The worker still serves the next run.
      const runId = await startRun('what time is it?');
      const events = await waitFor(
        'the next run to complete',
        async () => {
          const h = await history(runId);
          return h.at(-1)?.type === 'agent_completed' ? h : null;
        },
        { timeoutMs: 30_000 },
      );
      expect(events.filter((e) => e.type === 'tool_executing').map((e) => e.payload)).toEqual([
        { toolCallId: 'call-1', tool: 'clock', args: {} },
      ]);
    } finally {
      await service.close();
    }
  }, 60_000);
});
