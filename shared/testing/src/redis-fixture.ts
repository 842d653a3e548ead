import { type RedisServer, destroyAllRedis, startRedis } from './redis-server';

/** A redis-server shared by the tests of one file, and a client connected to it. */
export interface RedisFixture<C> {
  /** The server, started in `beforeAll`. */
  readonly server: RedisServer;
  /** The client `connect` opened on it in `beforeAll`. */
  readonly conn: C;
}

/**
 * The set-up most suites share: one redis-server for the tests of the calling file and a client on it,
 * opened in `beforeAll`; in `afterAll` the client is closed and every server the file started is
 * destroyed. The client comes from `connect` (e.g. `createRedis(loadConfig({ env: { REDIS_URL: url } }),
 * 'command')`) so this package depends on none of the packages whose tests use it. Call it at the top
 * level of a test file; read `server` and `conn` inside tests and hooks only.
 */
export function useRedis<C>(connect: (url: string) => C, close: (conn: C) => Promise<unknown>): RedisFixture<C> {
  let server: RedisServer | undefined;
  let conn: C | undefined;
  beforeAll(async () => {
    server = await startRedis();
    conn = connect(server.url);
  });
  afterAll(async () => {
    if (conn !== undefined) await close(conn);
    await destroyAllRedis();
  });
  const before = (what: string): Error => new Error(`useRedis: ${what} is set in beforeAll; read it inside a test`);
  return {
    get server() {
      if (server === undefined) throw before('server');
      return server;
    },
    get conn() {
      if (conn === undefined) throw before('conn');
      return conn;
    },
  };
}
