import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@agent-bridge/config';
import {
  RedisCluster,
  type RedisServer,
  destroyAllRedis,
  startRedis,
  startRedisMasters,
  freePort,
  startSentinel,
} from '@agent-bridge/testing';
import { Cluster, type RedisOptions } from 'ioredis';
import { RedisSetupError, checkRedis, closeRedis, createLockClients, createRedis, waitUntilReady } from './index';

afterAll(destroyAllRedis);

describe('createRedis (standalone)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });

  it('talks to a real redis-server on a free port, never the machine default', async () => {
    expect(server.port).not.toBe(6379);
    const config = loadConfig({ env: { REDIS_URL: server.url } });
    const conn = createRedis(config, 'command', { name: 'test-conn' });
    try {
      await conn.set('ab-test:k', 'v');
      expect(await conn.get('ab-test:k')).toBe('v');
      const clients = await server.cli('client', 'list');
      expect(clients).toContain('name=test-conn');
    } finally {
      await closeRedis(conn);
    }
  });

  it('gives workers maxRetriesPerRequest null (BullMQ requirement) and commands a fail-fast limit', async () => {
    const config = loadConfig({ env: { REDIS_URL: server.url } });
    const worker = createRedis(config, 'worker');
    const command = createRedis(config, 'command');
    try {
      expect((worker.options as RedisOptions).maxRetriesPerRequest).toBeNull();
      expect((command.options as RedisOptions).maxRetriesPerRequest).toBe(2);
    } finally {
      await Promise.all([closeRedis(worker), closeRedis(command)]);
    }
  });

  it('authenticates as an ACL user taken from the URL', async () => {
    await server.cli('acl', 'setuser', 'bridge', 'on', '>bridge-pass-1', '~ab-acl:*', '+@all');
    const config = loadConfig({ env: { REDIS_URL: `redis://bridge:bridge-pass-1@127.0.0.1:${server.port}` } });
    const conn = createRedis(config, 'command');
    try {
      expect(await conn.call('acl', 'whoami')).toBe('bridge');
      await conn.set('ab-acl:x', '1');
      await expect(conn.set('other:x', '1')).rejects.toThrow(/NOPERM/);
    } finally {
      await closeRedis(conn);
    }
  });

  it('reports the version and refuses a maxmemory-policy other than noeviction', async () => {
    const config = loadConfig({ env: { REDIS_URL: server.url } });
    const conn = createRedis(config, 'command');
    try {
      const ok = await checkRedis(conn, config);
      expect(ok.version).toMatch(/^\d+\.\d+/);
      expect(ok.maxmemoryPolicy).toBe('noeviction');
      await conn.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await expect(checkRedis(conn, config)).rejects.toThrow(RedisSetupError);
      await expect(checkRedis(conn, config)).rejects.toThrow(/allkeys-lru.*noeviction/);
      const lenient = loadConfig({ env: { REDIS_URL: server.url, REDIS_REQUIRE_NOEVICTION: 'false' } });
      const warned = await checkRedis(conn, lenient);
      expect(warned.warnings.join()).toMatch(/noeviction/);
    } finally {
      await conn.config('SET', 'maxmemory-policy', 'noeviction');
      await closeRedis(conn);
    }
  });

  it('survives a Redis restart with AOF on: the data is back and the client reconnects', async () => {
    const aof = await startRedis({ appendOnly: true });
    const config = loadConfig({ env: { REDIS_URL: aof.url } });
    const conn = createRedis(config, 'worker');
    try {
      await conn.set('ab-test:durable', '42');
      await aof.restart();
      expect(await conn.get('ab-test:durable')).toBe('42');
    } finally {
      await closeRedis(conn);
      await aof.destroy();
    }
  });
});

describe('three independent masters', () => {
  it('starts three servers and opens one lock client per master', async () => {
    const masters = await startRedisMasters(3);
    const config = loadConfig({ env: { REDIS_LOCK_URLS: masters.map((m) => m.url).join(',') } });
    const clients = createLockClients(config);
    try {
      expect(clients).toHaveLength(3);
      // Lock clients do not queue commands while connecting (a vote must not wait): wait until they are ready.
      expect(await Promise.all(clients.map((c) => waitUntilReady(c, 5_000)))).toEqual([true, true, true]);
      const ids = await Promise.all(clients.map(async (c) => (await c.info('server')).match(/tcp_port:(\d+)/)?.[1]));
      expect(ids.map(Number).sort()).toEqual(masters.map((m) => m.port).sort());
    } finally {
      await Promise.all(clients.map(closeRedis));
      await Promise.all(masters.map((m) => m.destroy()));
    }
  });
});

describe('Redis Cluster', () => {
  it('creates a three-master cluster and routes hash-tagged keys through the Cluster client', async () => {
    const cluster = await RedisCluster.start(3);
    const config = loadConfig({ env: { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.seeds.join(',') } });
    const conn = createRedis(config, 'command');
    try {
      expect(conn).toBeInstanceOf(Cluster);
      // Keys of one run share a slot, so a multi-key command on them is allowed.
      await conn.mset('ab:{run:r1}:a', '1', 'ab:{run:r1}:b', '2');
      expect(await conn.mget('ab:{run:r1}:a', 'ab:{run:r1}:b')).toEqual(['1', '2']);
      // Keys spread over the masters.
      for (let i = 0; i < 30; i++) await conn.set(`spread:${i}`, String(i));
      const sizes = await Promise.all(cluster.nodes.map(async (n) => Number(await n.cli('dbsize'))));
      expect(sizes.filter((s) => s > 0).length).toBe(3);
      const report = await checkRedis(conn, config);
      expect(report.mode).toBe('cluster');
    } finally {
      await closeRedis(conn);
      await cluster.destroy();
    }
  });
});

describe('Redis Sentinel', () => {
  it('finds the master through a real Sentinel and talks to it', async () => {
    const master = await startRedis();
    const sentinel = await startSentinel(master, 'ab-master');
    const config = loadConfig({
      env: { REDIS_MODE: 'sentinel', REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_SENTINEL_NAME: 'ab-master' },
    });
    const conn = createRedis(config, 'command');
    try {
      await conn.set('ab-test:via-sentinel', 'yes');
      expect(await master.cli('get', 'ab-test:via-sentinel')).toBe('yes');
      expect(await sentinel.cli('sentinel', 'get-master-addr-by-name', 'ab-master')).toContain(String(master.port));
    } finally {
      await closeRedis(conn);
      await sentinel.destroy();
      await master.destroy();
    }
  });
});

/** A throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI. */
function makeCertificates(): { dir: string; ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ab-tls-'));
  const f = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=ab-test-ca',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
  );
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    f('ext.cnf'),
    '-out',
    f('server.crt'),
  );
  return { dir, ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

describe('TLS (rediss://)', () => {
  it('connects over TLS to a real redis-server, trusting the CA from REDIS_TLS_CA_FILE', async () => {
    const certs = makeCertificates();
    const tlsPort = await freePort();
    const server = await startRedis({
      args: [
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        certs.cert,
        '--tls-key-file',
        certs.key,
        '--tls-ca-cert-file',
        certs.ca,
        '--tls-auth-clients',
        'no',
      ],
    });
    const config = loadConfig({
      env: { REDIS_URL: `rediss://127.0.0.1:${tlsPort}`, REDIS_TLS_CA_FILE: certs.ca },
    });
    // The TLS port speaks only TLS, and Node verifies the server certificate against the CA from the file.
    const conn = createRedis(config, 'command');
    try {
      await conn.set('ab-test:tls', 'secure');
      expect(await server.cli('get', 'ab-test:tls')).toBe('secure');
    } finally {
      await closeRedis(conn);
      await server.destroy();
    }
  });
});
