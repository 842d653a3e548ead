import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyLayout } from '@agent-bridge/protocol';
import { waitFor } from '@agent-bridge/testing';
import { Redis } from 'ioredis';
import { outcome, useGatewayHarness } from './test-harness';

const h = useGatewayHarness();

describe('gateway membership, probe and HTTP', () => {
  it('refuses to start in another Pub/Sub mode than a live member (a sharded publish never reaches a classic subscriber)', async () => {
    const classic = h.testConfig({ AB_PUBSUB_MODE: 'classic' });
    const first = await h.startGateway(classic);
    const sharded = h.testConfig({ AB_PUBSUB_MODE: 'sharded', AB_KEY_PREFIX: classic.keyPrefix });
    const err = await h.startGateway(sharded).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      new RegExp(`Pub/Sub mode sharded differs from live members: gateway ${first.id} \\(classic\\)`),
    );
    // auto resolves to sharded on this Redis (≥ 7): refused as well; classic joins.
    const auto = h.testConfig({ AB_KEY_PREFIX: classic.keyPrefix });
    await expect(h.startGateway(auto)).rejects.toThrow(/differs from live members/);
    const second = await h.startGateway(h.testConfig({ AB_PUBSUB_MODE: 'classic', AB_KEY_PREFIX: classic.keyPrefix }));
    expect(second.getStatus().pubsubMode).toBe('classic');
  });

  it.each(['classic', 'sharded'] as const)(
    'answers the leader’s end-to-end probe sent in %s Pub/Sub (serverSideEmit)',
    async (mode) => {
      const config = h.testConfig({ AB_PUBSUB_MODE: mode });
      const keys = keyLayout(config.keyPrefix);
      const gw = await h.startGateway(config);
      const sub = new Redis(h.redis.port, '127.0.0.1');
      try {
        const replies: string[] = [];
        const probeId = randomUUID();
        const replyChannel = keys.probeReplyChannel(probeId);
        sub.on('message', (ch: string, msg: string) => {
          if (ch === replyChannel) replies.push(msg);
        });
        await sub.subscribe(replyChannel);
        const peer = await h.adapterPeer(config, mode);
        peer.serverSideEmit('probe', { probeId, replyChannel });
        await waitFor('probe reply', () => replies.length === 1);
        peer.close();
        expect(replies).toEqual([gw.id]);
      } finally {
        sub.disconnect();
      }
    },
  );

  it('serves /healthz, /readyz and demo sign-in; heartbeats membership with the socket count; leaves it on close', async () => {
    const config = h.testConfig({ AB_GATEWAY_CHAT_PAGE: true });
    const keys = keyLayout(config.keyPrefix);
    const gw = await h.startGateway(config);
    const base = `http://127.0.0.1:${gw.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, state: 'running', id: config.instanceId });
    const bad = await fetch(`${base}/auth/demo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({}),
    });
    expect(bad.status).toBe(400);
    const signIn = await fetch(`${base}/auth/demo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'carol' }),
    });
    const { token } = (await signIn.json()) as { token: string };
    const s = h.client(gw, { token });
    expect((await outcome(s)).connected).toBe(true);
    await waitFor('membership record with one socket', async () => {
      const raw = await h.admin.hget(keys.memberRecords('gateway'), config.instanceId);
      return raw !== null && (JSON.parse(raw) as { info: { sockets: number } }).info.sockets === 1;
    });
    const disconnected = new Promise<string>((resolve) => s.once('disconnect', (r) => resolve(r)));
    await gw.close();
    await gw.close();
    // The connection is dropped (not a Socket.IO "server disconnect"), so stock clients reconnect too.
    expect(await disconnected).toBe('transport close');
    expect(await h.admin.hget(keys.memberRecords('gateway'), config.instanceId)).toBeNull();
    expect(await h.admin.zscore(keys.members('gateway'), config.instanceId)).toBeNull();
    expect(gw.getStatus().state).toBe('closed');
  });

  it('serves the chat page folder at / (index.html, assets) and nothing outside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-public-'));
    writeFileSync(join(dir, 'index.html'), '<h1>chat</h1>');
    mkdirSync(join(dir, 'js'));
    writeFileSync(join(dir, 'js', 'app.js'), 'console.log(1)');
    const gw = await h.startGateway(h.testConfig({ AB_GATEWAY_CHAT_PAGE: true }), { publicDir: dir });
    const base = `http://127.0.0.1:${gw.port}`;
    const index = await fetch(`${base}/`);
    expect([index.status, index.headers.get('content-type'), await index.text()]).toEqual([
      200,
      'text/html; charset=utf-8',
      '<h1>chat</h1>',
    ]);
    const js = await fetch(`${base}/js/app.js`);
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await fetch(`${base}/missing.html`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/%2e%2e/package.json`)).status).toBe(404);
    expect((await fetch(`${base}/js/..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    // Fastify refuses a malformed escape before routing.
    expect((await fetch(`${base}/%E0%A4%A`)).status).toBe(400);
  });

  it('does not serve the demo sign-in nor the chat page unless asked for (guarantee 7.1: off by default)', async () => {
    const gw = await h.startGateway(h.testConfig());
    const res = await fetch(`http://127.0.0.1:${gw.port}/auth/demo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'carol' }),
    });
    expect(res.status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${gw.port}/`)).status).toBe(404);
  });
});
