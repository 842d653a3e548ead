import { createHash } from 'node:crypto';
import {
  EventBatchJobSchema,
  type EventEnvelope,
  EventEnvelopeSchema,
  ForbiddenError,
  IllegalStateError,
  InvalidRequestError,
  eventBatchJobId,
  keyLayout,
} from '@agent-bridge/protocol';
import { closeRedis, createRedis, getRun, listRuns, registerRun, requestCancel } from '@agent-bridge/redis';
import { waitFor } from '@agent-bridge/testing';
import { AgentPublisher } from './index';
import { type PublisherCtx, usePublisherHarness } from './test-harness';

const h = usePublisherHarness();

describe('AgentPublisher', () => {
  let ctx: PublisherCtx | undefined;
  afterEach(async () => {
    await ctx?.close();
  });

  it('records the run in the registry; the emits of one tick go out as ONE `events` batch job (dense seq in call order, without awaiting); a lone emit is an `event` job (job id = event id)', async () => {
    ctx = await h.setup();
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
    expect(batch?.id).toMatch(new RegExp(`^${results[0].id}~100~[0-9a-f]{16}$`));
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

  it('the emits of several runs in one tick share one `events` job, each run together in emit order', async () => {
    ctx = await h.setup();
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
    expect(jobs[0]?.id).toMatch(new RegExp(`^${packed[0]!.id}~5~[0-9a-f]{16}$`));
  });

  it('a terminal event ends the run: later emits throw IllegalStateError; cancel() records code "cancelled"', async () => {
    ctx = await h.setup();
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
    ctx = await h.setup();
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
    ctx = await h.setup();
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
    ctx = await h.setup();
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
