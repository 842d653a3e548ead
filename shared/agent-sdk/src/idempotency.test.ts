// An event id is the idempotency key of an emit: a re-emit or a retried enqueue never numbers a new event.
import { AgentBridgeError, type EventEnvelope } from '@agent-bridge/protocol';
import { TcpProxy, waitFor } from '@agent-bridge/testing';
import { type PublisherCtx, usePublisherHarness } from './test-harness';

const h = usePublisherHarness();

describe('AgentPublisher', () => {
  let ctx: PublisherCtx | undefined;
  afterEach(async () => {
    await ctx?.close();
  });

  it('guarantee 3.1: emitting again with the same id returns the same seq and enqueues once', async () => {
    ctx = await h.setup();
    const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    const a = await run.emit('custom.step', { n: 1 }, { id: 'evt-same' });
    const b = await run.emit('custom.step', { n: 1 }, { id: 'evt-same' });
    expect(b).toEqual(a);
    expect(a.seq).toBe(1);
    expect((await run.thinking('next')).seq).toBe(2);
    expect((await ctx.jobs()).map((j) => j.id)).toEqual(['evt-same', expect.stringMatching(/^evt-/) as string]);
  });

  it('guarantee 3.1: an enqueue that fails is retried with the same event id; after the retry window the same id re-sends the same seq', async () => {
    const proxy = await TcpProxy.start(h.server.port);
    try {
      ctx = await h.setup({ AB_PUBLISH_RETRY_TIMEOUT_MS: '20000' }, proxy.url);
      const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
      await run.thinking('before');
      proxy.cut();
      const during = run.thinking('during the outage');
      await new Promise((r) => setTimeout(r, 500));
      proxy.heal();
      expect((await during).seq).toBe(2);
      await ctx.close();

      ctx = await h.setup({ AB_PUBLISH_RETRY_TIMEOUT_MS: '0' }, proxy.url);
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
});
