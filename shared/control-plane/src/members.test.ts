import { randomUUID } from 'node:crypto';
import { loadConfig } from '@agent-bridge/config';
import { keyLayout } from '@agent-bridge/protocol';
import { type RedisServer, destroyAllRedis, sleep, startRedis, waitFor } from '@agent-bridge/testing';
import { MemberHeartbeat, type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { listMembers, readMembers } from './index';

let server: RedisServer;
let conn: RedisConnection;

beforeAll(async () => {
  server = await startRedis();
  conn = createRedis(loadConfig({ env: { REDIS_URL: server.url } }), 'command');
});
afterAll(async () => {
  await closeRedis(conn);
  await destroyAllRedis();
});

describe('membership: heartbeats (redis) and the member views (control plane)', () => {
  it('start() stores the first beat before resolving; listMembers returns live members with their info', async () => {
    const keys = keyLayout(`t-${randomUUID()}`);
    let sockets = 3;
    const hb = new MemberHeartbeat({
      connection: conn,
      keys,
      role: 'gateway',
      id: 'gw-1',
      intervalMs: 50,
      ttlMs: 500,
      info: () => ({ sockets }),
    });
    await hb.start();
    const first = await listMembers(conn, keys, 'gateway');
    expect(first.map((m) => [m.id, m.role, m.pid, m.info])).toEqual([['gw-1', 'gateway', process.pid, { sockets: 3 }]]);
    expect(await listMembers(conn, keys, 'bridge')).toEqual([]);
    sockets = 7;
    await waitFor('info refreshed', async () => (await listMembers(conn, keys, 'gateway'))[0]?.info['sockets'] === 7);
    const later = await listMembers(conn, keys, 'gateway');
    expect(later[0]?.lastSeen).toBeGreaterThan(first[0]?.lastSeen ?? Infinity);
    await hb.close();
    await hb.close(); // idempotent
    expect(await listMembers(conn, keys, 'gateway')).toEqual([]);
    expect(await conn.hlen(keys.memberRecords('gateway'))).toBe(0);
  });

  it('a member that stops beating leaves listMembers after ttlMs; readMembers still shows it, not alive', async () => {
    const keys = keyLayout(`t-${randomUUID()}`);
    const alive = new MemberHeartbeat({
      connection: conn,
      keys,
      role: 'bridge',
      id: 'b-alive',
      intervalMs: 50,
      ttlMs: 400,
    });
    // The dying member has its own connection, cut below as a crash would.
    const dyingConn = createRedis(loadConfig({ env: { REDIS_URL: server.url } }), 'command');
    const dying = new MemberHeartbeat({
      connection: dyingConn,
      keys,
      role: 'bridge',
      id: 'b-dying',
      intervalMs: 50,
      ttlMs: 400,
    });
    await Promise.all([alive.start(), dying.start()]);
    expect((await listMembers(conn, keys, 'bridge')).map((m) => m.id)).toEqual(['b-alive', 'b-dying']);
    // Crash: the connection is gone, so the record stays behind without being refreshed.
    dyingConn.disconnect();
    await sleep(700);
    expect((await listMembers(conn, keys, 'bridge')).map((m) => m.id)).toEqual(['b-alive']);
    expect(await conn.hget(keys.memberRecords('bridge'), 'b-dying')).toContain('"b-dying"');
    const views = await readMembers(conn, keys, 'bridge');
    expect(views.map((m) => [m.id, m.alive])).toEqual([
      ['b-alive', true],
      ['b-dying', false],
    ]);
    expect(views[1]?.lastSeenAgoMs).toBeGreaterThanOrEqual(400);
    await alive.close();
    await dying.close();
  });

  it('rejects a ttl not longer than the interval', () => {
    const keys = keyLayout('t-x');
    expect(
      () => new MemberHeartbeat({ connection: conn, keys, role: 'bridge', id: 'x', intervalMs: 100, ttlMs: 100 }),
    ).toThrow(RangeError);
  });
});
