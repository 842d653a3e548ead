import { createHash, randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import {
  AgentBridgeError,
  BackpressureError,
  EventBatchJobSchema,
  type EventEnvelope,
  EventEnvelopeSchema,
  ForbiddenError,
  IllegalStateError,
  InvalidEventError,
  InvalidRequestError,
  PayloadTooLargeError,
  eventBatchJobId,
  keyLayout,
} from '@agent-bridge/protocol';
import { closeRedis, createRedis, getRun, listRuns, registerRun, requestCancel } from '@agent-bridge/redis';
import { type RedisServer, TcpProxy, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import { type Job, Queue } from 'bullmq';
import { AgentPublisher } from './index';

afterAll(destroyAllRedis);

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});

interface Ctx {
  config: AppConfig;
  publisher: AgentPublisher;
  queue: Queue;
  jobs: () => Promise<Job[]>;
  events: () => Promise<EventEnvelope[]>;
  close: () => Promise<void>;
}

async function setup(env: Record<string, string> = {}, url = server.url): Promise<Ctx> {
  const id = randomUUID();
  const config = loadConfig({
    env: {
      REDIS_URL: url,
      AB_KEY_PREFIX: `t-${id}`,
      AB_EVENTS_QUEUE: `ev-${id}`,
      LOG_LEVEL: 'silent',
      // These tests count events per emit; coalescing of thinking deltas has its own suite (coalescing.test.ts).
      AB_THINKING_COALESCE_MS: '0',
      ...env,
    },
  });
  const publisher = await AgentPublisher.create({ config });
  // Inspection goes straight to Redis, not through a proxy under test.
  const inspect = createRedis(loadConfig({ env: { REDIS_URL: server.url } }), 'command');
  const queue = new Queue(config.queues.events, {
    connection: inspect,
    prefix: keyLayout(config.keyPrefix).bullPrefix,
  });
  const jobs = async () => {
    const all = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed']);
    return all.sort((a, b) => (a.data as EventEnvelope).seq - (b.data as EventEnvelope).seq);
  };
  /** Every event on the queue (from `event` and `events` batch jobs), by run and seq. */
  const events = async (): Promise<EventEnvelope[]> =>
    (await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed']))
      .flatMap((j) =>
        j.name === 'events' ? (j.data as { events: EventEnvelope[] }).events : [j.data as EventEnvelope],
      )
      .sort((a, b) => a.runId.localeCompare(b.runId) || a.seq - b.seq);
  return {
    config,
    publisher,
    queue,
    jobs,
    events,
    close: async () => {
      await publisher.close();
      await queue.close();
      await closeRedis(inspect);
    },
  };
}

describe('AgentPublisher', () => {
  let ctx: Ctx;
  afterEach(async () => {
    await ctx?.close();
  });

  it('records the run in the registry; the emits of one tick go out as ONE `events` batch job (dense seq in call order, without awaiting); a lone emit is an `event` job (job id = event id)', async () => {
    ctx = await setup();
    const run = await ctx.publisher.startRun({ userId: 'alice', agent: 'planner', runId: 'run-order' });
    const keys = keyLayout(ctx.config.keyPrefix);
    const inspect = createRedis(ctx.config, 'command');
    try {
      expect(await getRun(inspect, keys, 'run-order')).toMatchObject({
        runId: 'run-order',
        owner: 'alice',
        agent: 'planner',
        status: 'running',
        headSeq: 0,
      });
      expect((await listRuns(inspect, keys, { userId: 'alice' })).map((r) => r.runId)).toEqual(['run-order']);
    } finally {
      await closeRedis(inspect);
    }
    const results = await Promise.all([
      run.started({ prompt: 'hi' }),
      ...Array.from({ length: 98 }, (_, i) => run.thinking(`t${i}`)),
      run.complete({ answer: 42 }),
    ]);
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const batchJobs = await ctx.jobs();
    expect(batchJobs).toHaveLength(1);
    const [batch] = batchJobs;
    expect(batch?.name).toBe('events');
    expect(batch?.opts.attempts).toBe(ctx.config.events.jobAttempts);
    const packed = EventBatchJobSchema.parse(batch?.data).events.map((e) => EventEnvelopeSchema.parse(e));
    expect(batch?.id).toBe(eventBatchJobId(packed, (t) => createHash('sha1').update(t).digest('hex')));
    expect(batch?.id).toMatch(new RegExp(`^${results[0]?.id}~100~[0-9a-f]{16}$`));
    for (const [i, data] of packed.entries()) {
      expect(data).toMatchObject({ runId: 'run-order', seq: i + 1, epoch: 0 });
      expect(data.id).toBe(results[i]?.id);
    }
    const jobs = packed.map((data) => ({ data, id: data.id }));
    expect(jobs).toHaveLength(100);
    expect(jobs[0]?.data).toMatchObject({
      type: 'agent_started',
      payload: { agent: 'planner', input: { prompt: 'hi' } },
    });
    expect(jobs[50]?.data).toMatchObject({ type: 'agent_thinking', payload: { delta: 't49' } });
    expect(jobs[99]?.data).toMatchObject({ type: 'agent_completed', payload: { output: { answer: 42 } } });
    expect(new Set(jobs.map((j) => j.id)).size).toBe(100);
    expect(ctx.publisher.getStatus()).toMatchObject({ enqueued: 100, pending: 0, failed: 0 });
    // A lone emit: the single-event format, job id = event id.
    const other = await ctx.publisher.startRun({ userId: 'alice', agent: 'planner' });
    const lone = { ...(await other.thinking('alone')), runId: other.runId };
    const single = (await ctx.jobs()).find((j) => j.id === lone.id);
    expect(single?.name).toBe('event');
    expect(EventEnvelopeSchema.parse(single?.data)).toMatchObject({ id: lone.id, runId: lone.runId, seq: 1 });
  });

  it('guarantees 5.1 and 6.1: invalid and oversized events throw typed errors before anything is numbered or enqueued', async () => {
    ctx = await setup({ AB_MAX_PAYLOAD_BYTES: '100' });
    const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    await expect(run.emit('Bad Type', {})).rejects.toThrow(InvalidEventError);
    await expect(run.emit('agent_thinking', { nope: 1 })).rejects.toThrow(
      /invalid agent_thinking payload: payload.delta/,
    );
    await expect(run.emit('gap', { missingSeq: 1, reason: 'x' })).rejects.toThrow(/reserved/);
    await expect(run.emit('custom.big', { blob: 'x'.repeat(200) })).rejects.toThrow(PayloadTooLargeError);
    await expect(run.emit('custom.big', { blob: 'x'.repeat(200) })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      limitBytes: 100,
      sizeBytes: 211,
    });
    await expect(run.emit('custom.bigint', { n: 10n })).rejects.toThrow(/cannot be serialised/);
    await expect(run.toolExecuting({ tool: '' })).rejects.toThrow(InvalidEventError);
    await expect(run.emit('custom.ok', { fine: true }, { id: 'has:colon' })).rejects.toThrow(/invalid event id/);
    const ok = await run.emit('custom.ok', { fine: true });
    expect(ok.seq).toBe(1);
    expect((await ctx.jobs()).map((j) => (j.data as EventEnvelope).type)).toEqual(['custom.ok']);
  });

  it('guarantee 5.4: over maxQueueDepth emits reject with BackpressureError (depth read in the background) and recover when drained', async () => {
    ctx = await setup({ AB_MAX_QUEUE_DEPTH: '5', AB_QUEUE_DEPTH_CHECK_MS: '50' });
    const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    for (let i = 0; i < 5; i++) await run.thinking(`x${i}`);
    const err = await run.thinking('over').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackpressureError);
    expect(err).toMatchObject({ code: 'BACKPRESSURE', limit: 5 });
    expect((err as BackpressureError).depth).toBeGreaterThanOrEqual(5);
    // The refused emit did not take a seq.
    await ctx.queue.drain();
    const next = await waitFor('emit accepted after drain', async () => {
      try {
        return await run.thinking('after');
      } catch (e) {
        if (e instanceof BackpressureError) return null;
        throw e;
      }
    });
    expect(next.seq).toBe(6);
  });

  it('the emits of several runs in one tick share one `events` job, each run together in emit order', async () => {
    ctx = await setup();
    const a = await ctx.publisher.startRun({ userId: 'u', agent: 'a', runId: 'run-a' });
    const b = await ctx.publisher.startRun({ userId: 'u', agent: 'a', runId: 'run-b' });
    await Promise.all([a.thinking('a1'), b.thinking('b1'), a.thinking('a2'), b.thinking('b2'), a.thinking('a3')]);
    const jobs = await ctx.jobs();
    expect(jobs.map((j) => j.name)).toEqual(['events']);
    const packed = EventBatchJobSchema.parse(jobs[0]?.data).events as EventEnvelope[];
    expect(packed.map((e) => [e.runId, e.seq])).toEqual([
      ['run-a', 1],
      ['run-a', 2],
      ['run-a', 3],
      ['run-b', 1],
      ['run-b', 2],
    ]);
    expect(jobs[0]?.id).toMatch(new RegExp(`^${packed[0]?.id}~5~[0-9a-f]{16}$`));
  });

  it('guarantee 5.4: the queue depth counts the events of `events` batch jobs, not jobs', async () => {
    ctx = await setup({ AB_MAX_QUEUE_DEPTH: '25', AB_QUEUE_DEPTH_CHECK_MS: '50' });
    const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    // 20 events of one tick: one batch job.
    await Promise.all(Array.from({ length: 20 }, (_, i) => run.thinking(`b${i}`)));
    expect(await ctx.jobs()).toHaveLength(1);
    // A fresh publisher reads the depth from Redis only: 20 events waiting (in 1 job).
    const second = await AgentPublisher.create({ config: ctx.config });
    try {
      expect(second.getStatus().queueDepth).toBe(20);
      const other = await second.startRun({ userId: 'u', agent: 'a' });
      for (let i = 0; i < 5; i++) await other.thinking(`s${i}`);
      const err = await other.thinking('over').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackpressureError);
      expect(err).toMatchObject({ code: 'BACKPRESSURE', limit: 25 });
    } finally {
      await second.close();
    }
  });

  it('guarantee 3.1: emitting again with the same id returns the same seq and enqueues once', async () => {
    ctx = await setup();
    const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    const a = await run.emit('custom.step', { n: 1 }, { id: 'evt-same' });
    const b = await run.emit('custom.step', { n: 1 }, { id: 'evt-same' });
    expect(b).toEqual(a);
    expect(a.seq).toBe(1);
    expect((await run.thinking('next')).seq).toBe(2);
    expect((await ctx.jobs()).map((j) => j.id)).toEqual(['evt-same', expect.stringMatching(/^evt-/) as string]);
  });

  it('guarantee 3.1: an enqueue that fails is retried with the same event id; after the retry window the same id re-sends the same seq', async () => {
    const proxy = await TcpProxy.start(server.port);
    try {
      ctx = await setup({ AB_PUBLISH_RETRY_TIMEOUT_MS: '20000' }, proxy.url);
      const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
      await run.thinking('before');
      proxy.cut();
      const during = run.thinking('during the outage');
      await new Promise((r) => setTimeout(r, 500));
      proxy.heal();
      expect((await during).seq).toBe(2);
      await ctx.close();

      ctx = await setup({ AB_PUBLISH_RETRY_TIMEOUT_MS: '0' }, proxy.url);
      const run2 = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
      proxy.cut();
      const failed = await run2.emit('custom.step', { n: 1 }, { id: 'evt-retry' }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(AgentBridgeError);
      expect((failed as AgentBridgeError).code).toBe('UNAVAILABLE');
      proxy.heal();
      const retried = await waitFor('retry accepted', () =>
        run2.emit('custom.step', { n: 1 }, { id: 'evt-retry' }).catch(() => null),
      );
      expect(retried).toEqual({ id: 'evt-retry', seq: 1 });
      expect((await run2.thinking('next')).seq).toBe(2);
      const jobs = await ctx.jobs();
      expect(jobs.map((j) => [j.id, (j.data as EventEnvelope).seq])).toEqual([
        ['evt-retry', 1],
        [expect.any(String), 2],
      ]);
    } finally {
      await ctx?.close();
      await proxy.close();
    }
  });

  it('a terminal event ends the run: later emits throw IllegalStateError; cancel() records code "cancelled"', async () => {
    ctx = await setup();
    const done = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    await done.fail('exploded', 'E_TOOL');
    expect(done.ended).toBe(true);
    await expect(done.thinking('late')).rejects.toThrow(IllegalStateError);
    const stopped = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    await stopped.cancel();
    await expect(stopped.complete()).rejects.toThrow(IllegalStateError);
    const jobs = (await ctx.jobs()).map((j) => j.data as EventEnvelope);
    expect(jobs.map((e) => [e.runId, e.type, e.payload])).toEqual(
      expect.arrayContaining([
        [done.runId, 'agent_error', { message: 'exploded', code: 'E_TOOL' }],
        [stopped.runId, 'agent_error', { message: 'cancelled by the user', code: 'cancelled' }],
      ]),
    );
  });

  it('cancel requests arrive on the run control channel (signal + onCancel), also when asked before the run started', async () => {
    ctx = await setup();
    const keys = keyLayout(ctx.config.keyPrefix);
    const conn = createRedis(ctx.config, 'command');
    try {
      const run = await ctx.publisher.startRun({ userId: 'alice', agent: 'a' });
      expect(run.cancelled).toBe(false);
      const calls: string[] = [];
      run.onCancel(() => calls.push('cb'));
      expect(await requestCancel(conn, keys, run.runId)).toBe(true);
      await waitFor('cancelled', () => run.signal.aborted);
      expect(calls).toEqual(['cb']);

      // Requested while the run was still pending (registered by the gateway).
      await registerRun(conn, keys, { runId: 'run-early', owner: 'alice', status: 'pending' });
      await requestCancel(conn, keys, 'run-early');
      const early = await ctx.publisher.startRun({ userId: 'alice', agent: 'a', runId: 'run-early' });
      expect(early.cancelled).toBe(true);
      const late: string[] = [];
      early.onCancel(() => late.push('cb'));
      await waitFor('listener called', () => late.length === 1);
      // The registry is written once: the run stays 'pending' until the bridge commits its first event.
      expect((await getRun(conn, keys, 'run-early'))?.status).toBe('pending');
    } finally {
      await closeRedis(conn);
    }
  });

  it('refuses another user’s run and malformed start options', async () => {
    ctx = await setup();
    const owned = await ctx.publisher.startRun({ userId: 'alice', agent: 'a', runId: 'run-owned' });
    await expect(ctx.publisher.startRun({ userId: 'alice', agent: 'a', runId: 'run-owned' })).rejects.toThrow(
      /open in this process/,
    );
    owned.close();
    await expect(ctx.publisher.startRun({ userId: 'mallory', agent: 'a', runId: 'run-owned' })).rejects.toThrow(
      ForbiddenError,
    );
    await expect(ctx.publisher.startRun({ userId: 'u', agent: 'a', runId: 'bad:id' })).rejects.toThrow(
      InvalidRequestError,
    );
    await expect(ctx.publisher.startRun({ userId: '', agent: '' })).rejects.toThrow(/userId, agent/);
  });

  it('close() flushes accepted emits, is idempotent, refuses new work and leaves a given connection open', async () => {
    ctx = await setup();
    const shared = createRedis(ctx.config, 'command');
    const publisher = await AgentPublisher.create({ config: ctx.config, connection: shared });
    try {
      const run = await publisher.startRun({ userId: 'u', agent: 'a' });
      const emits = Array.from({ length: 20 }, (_, i) => run.thinking(`w${i}`));
      await Promise.all([publisher.close(), publisher.close()]);
      expect((await Promise.all(emits)).map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect((await ctx.events()).map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(publisher.getStatus().state).toBe('closed');
      await expect(run.thinking('after close')).rejects.toThrow(IllegalStateError);
      await expect(publisher.startRun({ userId: 'u', agent: 'a' })).rejects.toThrow(IllegalStateError);
      expect(await shared.ping()).toBe('PONG');
    } finally {
      await publisher.close();
      await closeRedis(shared);
    }
  });
});
