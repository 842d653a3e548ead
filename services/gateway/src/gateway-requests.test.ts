import { type SubscribeAck, keyLayout } from '@agent-bridge/protocol';
import { waitFor } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { signToken } from '@agent-bridge/auth';
import { outcome, useGatewayHarness } from './test-harness';

const h = useGatewayHarness();

describe('gateway requests', () => {
  it('start_run enqueues a start_run job with the token subject as owner; cancel_run flags and publishes', async () => {
    const config = h.testConfig();
    const keys = keyLayout(config.keyPrefix);
    const gw = await h.startGateway(config);
    const s = h.client(gw, { token: await signToken('alice', config.auth) });
    await outcome(s);
    const res = (await s.emitWithAck('start_run', { prompt: 'hello' })) as { ok: true; runId: string };
    expect(res.ok).toBe(true);
    expect(res.runId).toMatch(/^run-[0-9a-f-]{36}$/);
    const queue = new Queue(config.queues.runs, { connection: h.admin, prefix: keys.bullPrefix });
    try {
      const job = await queue.getJob(res.runId);
      expect(job?.name).toBe('start_run');
      expect(job?.data).toMatchObject({ runId: res.runId, userId: 'alice', prompt: 'hello', agent: 'demo-agent' });
    } finally {
      await queue.close();
    }
    // The run is registered as pending for its owner, so the owner may subscribe at once.
    const ack = (await s.emitWithAck('subscribe', { runId: res.runId })) as SubscribeAck;
    expect(ack).toMatchObject({ ok: true, status: 'pending', headSeq: 0 });

    const sub = new Redis(h.redis.port, '127.0.0.1');
    try {
      const messages: string[] = [];
      sub.on('message', (_ch: string, msg: string) => messages.push(msg));
      await sub.subscribe(keys.runControlChannel(res.runId));
      const cancel = (await s.emitWithAck('cancel_run', { runId: res.runId })) as { ok: boolean };
      expect(cancel).toEqual({ ok: true });
      await waitFor('cancel message', () => messages.length === 1);
      expect(messages).toEqual(['{"type":"cancel"}']);
      expect(await h.admin.hget(keys.runMeta(res.runId), 'cancelRequested')).toBe('1');
    } finally {
      sub.disconnect();
    }
    const bob = h.client(gw, { token: await signToken('bob', config.auth) });
    await outcome(bob);
    expect(await bob.emitWithAck('cancel_run', { runId: res.runId })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(await bob.emitWithAck('start_run', { prompt: '' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
  });

  it('rate-limits a flooding user with RATE_LIMITED (retryAfterMs, scope user) while another user is served normally', async () => {
    const config = h.testConfig({ AB_LIMIT_USER_REQUESTS: 20, AB_LIMIT_REQUEST_WINDOW_MS: 60_000 });
    const gw = await h.startGateway(config);
    await h.registerRun(config, 'run-flood', 'alice');
    await h.registerRun(config, 'run-calm', 'bob');
    const flooder = h.client(gw, { token: await signToken('alice', config.auth) });
    const calm = h.client(gw, { token: await signToken('bob', config.auth) });
    await Promise.all([outcome(flooder), outcome(calm)]);
    const acks = (await Promise.all(
      Array.from({ length: 200 }, () => flooder.emitWithAck('subscribe', { runId: 'run-flood' })),
    )) as SubscribeAck[];
    const ok = acks.filter((a) => a.ok).length;
    const limited = acks.filter((a) => !a.ok && a.error.code === 'RATE_LIMITED');
    expect({ ok, limited: limited.length }).toEqual({ ok: 20, limited: 180 });
    const first = limited[0] as { error: { details: { retryAfterMs: number; scope: string } } };
    expect(first.error.details.scope).toBe('user');
    expect(first.error.details.retryAfterMs).toBeGreaterThan(0);
    expect(first.error.details.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await calm.emitWithAck('subscribe', { runId: 'run-calm' })).toMatchObject({ ok: true });
    expect(flooder.connected).toBe(true);
  });

  it('closes the connection of a client that sends a message over the size limit; others stay', async () => {
    const config = h.testConfig({ AB_GATEWAY_MAX_MESSAGE_BYTES: 1024 });
    const gw = await h.startGateway(config);
    const big = h.client(gw, { token: await signToken('alice', config.auth) });
    const other = h.client(gw, { token: await signToken('alice', config.auth) });
    await Promise.all([outcome(big), outcome(other)]);
    const closed = new Promise<string>((resolve) => big.once('disconnect', (reason) => resolve(reason)));
    big.emit('start_run', { prompt: 'x'.repeat(4096) }, () => undefined);
    expect(await closed).toBe('transport close');
    expect(await other.emitWithAck('start_run', { prompt: 'still fine' })).toMatchObject({ ok: true });
  });
});
