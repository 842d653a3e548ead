// What an emit must pass before it is numbered: validation, the payload bound and the queue-depth bound.
import { BackpressureError, type EventEnvelope, InvalidEventError, PayloadTooLargeError } from '@agent-bridge/protocol';
import { waitFor } from '@agent-bridge/testing';
import { AgentPublisher } from './index';
import { type PublisherCtx, usePublisherHarness } from './test-harness';

const h = usePublisherHarness();

describe('AgentPublisher', () => {
  let ctx: PublisherCtx | undefined;
  afterEach(async () => {
    await ctx?.close();
  });

  it('guarantees 5.1 and 6.1: invalid and oversized events throw typed errors before anything is numbered or enqueued', async () => {
    ctx = await h.setup({ AB_MAX_PAYLOAD_BYTES: '100' });
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
    ctx = await h.setup({ AB_MAX_QUEUE_DEPTH: '5', AB_QUEUE_DEPTH_CHECK_MS: '50' });
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

  it('guarantee 5.4: the queue depth counts the events of `events` batch jobs, not jobs', async () => {
    ctx = await h.setup({ AB_MAX_QUEUE_DEPTH: '25', AB_QUEUE_DEPTH_CHECK_MS: '50' });
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
});
