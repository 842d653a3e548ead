import { type RedisServer, RedisServerNotInstalledError, startRedis } from './redis-server';
import { TcpProxy } from './tcp-proxy';
import { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { waitFor } from './ports';

function roundTrip(port: number, payload: string, timeoutMs = 500): Promise<string | null> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (v: string | null): void => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(null));
    s.once('error', () => done(null));
    s.once('close', () => done(null));
    s.once('data', (d) => done(d.toString()));
    s.connect(port, '127.0.0.1', () => s.write(payload));
  });
}

describe('redis-server harness', () => {
  let server: RedisServer | undefined;
  afterEach(async () => server?.destroy());

  it('starts a server on a free port in its own directory and tears it down', async () => {
    server = await startRedis();
    expect(server.running).toBe(true);
    expect(server.port).not.toBe(6379);
    expect(await server.cli('config', 'get', 'dir')).toContain(server.dir);
    await server.destroy();
    expect(server.running).toBe(false);
    expect(await roundTrip(server.port, 'PING\r\n')).toBeNull();
  });

  it('kill and restart keep the port; pause freezes the server', async () => {
    server = await startRedis();
    await server.kill();
    expect(await roundTrip(server.port, 'PING\r\n')).toBeNull();
    await server.restart();
    expect(await roundTrip(server.port, 'PING\r\n')).toBe('+PONG\r\n');
    server.pause();
    expect(await roundTrip(server.port, 'PING\r\n', 300)).toBeNull();
    server.resume();
    expect(await roundTrip(server.port, 'PING\r\n')).toBe('+PONG\r\n');
  });

  it('says how to install redis-server when it is missing', async () => {
    const saved = process.env['REDIS_SERVER_BIN'];
    process.env['REDIS_SERVER_BIN'] = '/nonexistent/redis-server';
    try {
      await expect(startRedis()).rejects.toThrow(RedisServerNotInstalledError);
      await expect(startRedis()).rejects.toThrow(/apt-get install -y redis-server/);
    } finally {
      if (saved === undefined) delete process.env['REDIS_SERVER_BIN'];
      else process.env['REDIS_SERVER_BIN'] = saved;
    }
  });
});

describe('TcpProxy', () => {
  it('forwards, stalls and cuts traffic to a real server', async () => {
    const server = await startRedis();
    const proxy = await TcpProxy.start(server.port);
    try {
      expect(await roundTrip(proxy.port, 'PING\r\n')).toBe('+PONG\r\n');
      proxy.stall();
      expect(await roundTrip(proxy.port, 'PING\r\n', 300)).toBeNull();
      proxy.cut();
      expect(await roundTrip(proxy.port, 'PING\r\n', 300)).toBeNull();
      proxy.heal();
      expect(await roundTrip(proxy.port, 'PING\r\n')).toBe('+PONG\r\n');
    } finally {
      await proxy.close();
      await server.destroy();
    }
  });

  it('delays traffic both ways without reordering it, and ends the delay on heal()', async () => {
    const server = await startRedis();
    const proxy = await TcpProxy.start(server.port);
    try {
      proxy.delay(300);
      const t0 = Date.now();
      // Ten pipelined commands, written one by one: the replies must come back in order.
      const replies = await new Promise<string>((resolve, reject) => {
        const s = new Socket();
        let got = '';
        s.setTimeout(10_000, () => reject(new Error('no replies')));
        s.on('data', (d) => {
          got += d.toString();
          if (got.split('\r\n').length > 10) {
            s.destroy();
            resolve(got);
          }
        });
        s.connect(proxy.port, '127.0.0.1', () => {
          for (let i = 0; i < 10; i++) s.write(`ECHO m${i}\r\n`);
        });
      });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
      expect(replies).toBe(Array.from({ length: 10 }, (_, i) => `$2\r\nm${i}\r\n`).join(''));
      proxy.heal();
      expect(await roundTrip(proxy.port, 'PING\r\n')).toBe('+PONG\r\n');
    } finally {
      await proxy.close();
      await server.destroy();
    }
  });

  it('reset() aborts open connections with ECONNRESET and keeps accepting new ones', async () => {
    const server = await startRedis();
    const proxy = await TcpProxy.start(server.port);
    try {
      const s = new Socket();
      const failed = new Promise<string>((resolve) =>
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')),
      );
      await new Promise<void>((resolve) => s.connect(proxy.port, '127.0.0.1', resolve));
      await new Promise<void>((resolve) => {
        s.once('data', () => resolve());
        s.write('PING\r\n');
      });
      expect(proxy.connections).toBe(1);
      proxy.reset();
      expect(await failed).toBe('ECONNRESET');
      expect(proxy.connections).toBe(0);
      expect(await roundTrip(proxy.port, 'PING\r\n')).toBe('+PONG\r\n');
    } finally {
      await proxy.close();
      await server.destroy();
    }
  });

  it('cut, reset and blackhole take a client-name filter: only the matching connection fails, the others run on', async () => {
    const server = await startRedis();
    const proxy = await TcpProxy.start(server.port);
    const named = (name: string): Redis =>
      new Redis(proxy.port, '127.0.0.1', {
        connectionName: name,
        retryStrategy: () => 50,
        maxRetriesPerRequest: null,
      });
    const cmd = named('svc-1:command');
    const sub = named('svc-1:sub');
    const errors: string[] = [];
    for (const c of [cmd, sub]) c.on('error', (e: Error) => errors.push(e.message));
    const answers = async (c: Redis, ms = 500): Promise<boolean> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        return await Promise.race([
          c.ping().then(
            () => true,
            () => false,
          ),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
        ]);
      } finally {
        clearTimeout(timer);
      }
    };
    try {
      await Promise.all([cmd.ping(), sub.ping()]);
      await waitFor('both named', () => proxy.connectionNames().filter((n) => n !== null).length === 2);
      expect(proxy.connectionNames().sort()).toEqual(['svc-1:command', 'svc-1:sub']);

      // delay: only the matching connection answers late (both ways), the other at once.
      proxy.delay(1_000, /:sub$/);
      const t0 = Date.now();
      await cmd.ping();
      const cmdMs = Date.now() - t0;
      await sub.ping();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
      expect(cmdMs).toBeLessThan(2_000);
      proxy.heal();

      // cut: the matching connection drops and cannot come back until heal(); the other is untouched.
      proxy.cut(/:sub$/);
      await waitFor('sub down', () => sub.status !== 'ready');
      await new Promise((r) => setTimeout(r, 300));
      expect(sub.status).not.toBe('ready');
      await waitFor('a reconnect refused', () => proxy.refusals > 0);
      expect(errors.some((m) => m.includes('ECONNRESET'))).toBe(true);
      expect(await answers(cmd)).toBe(true);
      proxy.heal();
      await waitFor('sub back', () => sub.status === 'ready', { timeoutMs: 10_000 });
      expect(await answers(sub, 5_000)).toBe(true);

      // reset: the matching connection gets an RST and reconnects at once.
      const resets = errors.length;
      proxy.reset(/:sub$/);
      await waitFor('sub reset seen', () => errors.slice(resets).some((m) => m.includes('ECONNRESET')));
      expect(await answers(sub, 5_000)).toBe(true);
      expect(await answers(cmd)).toBe(true);

      // blackhole: the matching connection stays open but silent; a new one with the same name works.
      proxy.blackhole(/:sub$/);
      expect(await answers(sub)).toBe(false);
      expect(sub.status).toBe('ready');
      expect(await answers(cmd)).toBe(true);
      const fresh = named('svc-1:sub');
      try {
        expect(await answers(fresh, 5_000)).toBe(true);
      } finally {
        fresh.disconnect();
      }
    } finally {
      cmd.disconnect();
      sub.disconnect();
      await proxy.close();
      await server.destroy();
    }
  });
});
