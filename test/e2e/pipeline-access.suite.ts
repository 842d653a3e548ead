/**
 * The access-control cases of the pipeline suite (pipeline.suite.ts registers them on its cluster): token,
 * Origin and ownership checks at every gateway, and a flooding client cut off without disturbing another
 * user's stream (guarantees 6.3 and 6.4).
 */
import type { AgentPublisher, RunHandle } from '@agent-bridge/agent-sdk';
import type { BridgeClient } from '@agent-bridge/client';
import type { EventEnvelope } from '@agent-bridge/protocol';
import { waitFor } from '@agent-bridge/testing';
import { io as ioClient } from 'socket.io-client';
import { handshakeOutcome as outcome, hostileTokens } from './handshake';
import { type E2ECluster, Received, tokenFor } from './harness';
import type { PipelineCase } from './pipeline.suite';

/** What the cases use of the suite's fixture; read when a case runs, after the suite's beforeAll. */
export interface PipelineContext {
  readonly cluster: E2ECluster;
  readonly publisher: AgentPublisher;
  /** A client of `userId` on `urls`, closed after the case. */
  readonly client: (userId: string, urls: string[]) => BridgeClient;
  /** The gateways' URLs, starting at the `first`th. */
  readonly gatewayUrls: (first: number) => string[];
  /** Emits `count` thinking events on `handle` at once and appends their ids to `ids`, in seq order. */
  readonly emitAll: (handle: RunHandle, count: number, ids: string[], label?: string) => Promise<void>;
}

/** Registers the access-control cases through the suite's case filter `test`. */
export function accessControlCases(
  test: (c: PipelineCase) => (name: string, fn: () => Promise<void>) => void,
  ctx: PipelineContext,
): void {
  describe('access control at the gateways (guarantees 6.3 and 6.4)', () => {
    test('tokens')(
      'refuses missing, expired, forged and alg:none tokens with UNAUTHORIZED on every gateway',
      async () => {
        const { expired, forged, none } = await hostileTokens(ctx.cluster.config, 'alice');
        for (const gw of ctx.cluster.gateways) {
          const results = await Promise.all(
            [
              {},
              { token: expired },
              { token: forged },
              { token: none },
              { token: await tokenFor(ctx.cluster, 'alice') },
            ].map((auth) => outcome(gw.url, auth)),
          );
          expect(results).toEqual(['UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED', 'connected']);
        }
      },
    );

    test('origin')('refuses a hostile Origin and subscribing to another user’s run; the owner gets it', async () => {
      const url = ctx.cluster.gateways[0]!.url;
      const token = await tokenFor(ctx.cluster, 'alice');
      expect(await outcome(url, { token }, { Origin: 'https://evil.example' })).toBe('refused: websocket error');
      expect(await outcome(url, { token }, { Origin: 'http://localhost:3000' })).toBe('connected');

      const handle = await ctx.publisher.startRun({ userId: 'alice', agent: 'e2e', runId: 'alice-private-1' });
      await handle.emit('agent_thinking', { delta: 'secret' });
      const mallory = ctx.client('mallory', ctx.gatewayUrls(0));
      const got: EventEnvelope[] = [];
      await expect(mallory.subscribe('alice-private-1', (e) => got.push(e)).ready).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
      await expect(mallory.subscribe('no-such-run', () => undefined).ready).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      const alice = ctx.client('alice', ctx.gatewayUrls(1));
      const received = new Received();
      await alice.subscribe('alice-private-1', received.handler('alice-private-1')).ready;
      await waitFor('owner delivery', () => received.total >= 1);
      expect(got).toEqual([]);
      handle.close();
    });

    test('flood')(
      'a flooding client (10,000 requests, oversized messages) is limited and cut off; another user’s stream on the same gateway is exact',
      async () => {
        const gw = ctx.cluster.gateways[0]!;
        const handle = await ctx.publisher.startRun({ userId: 'calm-user', agent: 'e2e', runId: 'calm-1' });
        const calm = ctx.client('calm-user', [gw.url]);
        const received = new Received();
        await calm.subscribe('calm-1', received.handler('calm-1')).ready;
        const flooder = ioClient(gw.url, {
          transports: ['websocket'],
          reconnection: false,
          forceNew: true,
          auth: { token: await tokenFor(ctx.cluster, 'flooder') },
        });
        try {
          await new Promise((resolve) => flooder.once('connect', () => resolve(undefined)));
          type Ack = { ok: boolean; error?: { code: string } };
          const acks: Promise<Ack>[] = [];
          // An untyped socket: its acks are `any` until told.
          for (let i = 0; i < 10_000; i++)
            acks.push(flooder.timeout(30_000).emitWithAck('subscribe', { runId: 'calm-1' }) as Promise<Ack>);
          const ids: string[] = [];
          await ctx.emitAll(handle, 500, ids);
          const answers = await Promise.all(acks);
          const codes = new Map<string, number>();
          for (const a of answers)
            codes.set(a.ok ? 'ok' : a.error!.code, (codes.get(a.ok ? 'ok' : a.error!.code) ?? 0) + 1);
          // Within the rate limit the flooder is still only allowed what it owns: calm-1 is not its run.
          expect(codes.get('ok')).toBeUndefined();
          expect((codes.get('FORBIDDEN') ?? 0) + (codes.get('RATE_LIMITED') ?? 0)).toBe(10_000);
          expect(codes.get('RATE_LIMITED')).toBeGreaterThan(9_000);
          const closed = new Promise((resolve) => flooder.once('disconnect', resolve));
          flooder.emit('start_run', { prompt: 'x'.repeat(ctx.cluster.config.gateway.maxMessageBytes * 2) });
          expect(await closed).toBe('transport close');
          await waitFor('500 deliveries', () => received.total >= 500, { timeoutMs: 60_000 });
          expect(received.mismatches(new Map([['calm-1', ids]]))).toEqual([]);
          expect(gw.process.running).toBe(true);
        } finally {
          flooder.disconnect();
          handle.close();
        }
      },
    );
  });
}
