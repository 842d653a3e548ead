import { type RedisServer, RedisServerNotInstalledError, startRedis } from './redis-server';
import { TcpProxy } from './tcp-proxy';
import { Socket } from 'node:net';

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
  let server: RedisServer;
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
});
