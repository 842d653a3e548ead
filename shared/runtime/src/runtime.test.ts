import { IllegalStateError } from '@agent-bridge/protocol';
import { silentLogger } from '@agent-bridge/telemetry';
import Fastify from 'fastify';
import { Lifecycle, closeAll, installProbes, ShutdownManager } from './index';

describe('Lifecycle', () => {
  test('start runs once for concurrent callers and ends running', async () => {
    const life = new Lifecycle();
    let runs = 0;
    const start = async (): Promise<void> => {
      runs++;
      await new Promise((r) => setTimeout(r, 5));
    };
    const a = life.start(start);
    expect(life.state).toBe('starting');
    await Promise.all([a, life.start(start)]);
    expect(runs).toBe(1);
    expect(life.state).toBe('running');
  });

  test('close runs once, after the start in progress, and start is refused after it', async () => {
    const life = new Lifecycle();
    const order: string[] = [];
    const started = life.start(async () => {
      await new Promise((r) => setTimeout(r, 10));
      order.push('started');
    });
    const close = (): Promise<void> =>
      life.close((was) => {
        order.push(`closed from ${was}`);
        return Promise.resolve();
      });
    await Promise.all([close(), close(), started]);
    expect(order).toEqual(['started', 'closed from starting']);
    expect(life.state).toBe('closed');
    await expect(life.start(() => Promise.resolve())).rejects.toBeInstanceOf(IllegalStateError);
    expect(() => life.assertRunning('work')).toThrow(IllegalStateError);
  });

  test('closeWaitsForStart: false closes while a start hangs, and a failing close still ends closed', async () => {
    const life = new Lifecycle({ closeWaitsForStart: false });
    void life.start(() => new Promise<void>(() => undefined)).catch(() => undefined);
    await expect(life.close(() => Promise.reject(new Error('step failed')))).rejects.toThrow('step failed');
    expect(life.state).toBe('closed');
  });

  test('closeAll runs every step even when one fails, and reports the failure', async () => {
    const ran: string[] = [];
    const failed: string[] = [];
    await closeAll(
      [
        ['a', () => void ran.push('a')],
        ['b', () => Promise.reject(new Error('b broke'))],
        ['c', () => void ran.push('c')],
      ],
      (_err, step) => failed.push(step),
    );
    expect(ran).toEqual(['a', 'c']);
    expect(failed).toEqual(['b']);
  });
});

describe('ShutdownManager', () => {
  test('runs steps last-registered first, once, each even if one fails', async () => {
    const shutdown = new ShutdownManager(silentLogger(), 1_000);
    const ran: string[] = [];
    shutdown.register('telemetry', () => void ran.push('telemetry'));
    shutdown.register('broken', () => {
      throw new Error('broken');
    });
    shutdown.register('server', () => Promise.resolve().then(() => void ran.push('server')));
    expect(await Promise.all([shutdown.shutdown(), shutdown.shutdown()])).toEqual([true, true]);
    expect(ran).toEqual(['server', 'telemetry']);
  });
});

describe('installProbes', () => {
  test('/healthz, /readyz (200, 503, a throwing check is not ready) and /metrics (404 without Prometheus)', async () => {
    let ready: boolean | Error = true;
    const app = Fastify();
    installProbes(app, {
      health: () => ({ state: 'running' }),
      ready: () => {
        if (ready instanceof Error) throw ready;
        return { ready };
      },
    });
    try {
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      const get = (path: string): Promise<Response> => fetch(`${base}${path}`);
      const health = await get('/healthz');
      expect([health.status, await health.json()]).toEqual([200, { ok: true, state: 'running' }]);
      expect((await get('/readyz')).status).toBe(200);
      ready = false;
      expect((await get('/readyz')).status).toBe(503);
      ready = new Error('redis down');
      const failing = await get('/readyz');
      expect([failing.status, await failing.json()]).toEqual([503, { ready: false, error: 'redis down' }]);
      expect((await get('/metrics')).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
