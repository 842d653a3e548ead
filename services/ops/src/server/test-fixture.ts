import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { type KeyLayout, keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { silentLogger } from '@agent-bridge/telemetry';
import type { RedisServer } from '@agent-bridge/testing';
import { type OpsServer, createOpsServer } from './ops-server';

/** Credentials of the ops server a {@link startOpsFixture} starts. */
export const OPS_USER = 'ops-user';
export const OPS_PASSWORD = 'correct-horse-battery';

/** An `Authorization` header for basic auth (the fixture's credentials unless given). */
export const basicAuth = (user = OPS_USER, pass = OPS_PASSWORD): { authorization: string } => ({
  authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`,
});

/** An ops server on a free loopback port, over its own connection and a fresh key prefix (tests only). */
export interface OpsFixture {
  config: AppConfig;
  keys: KeyLayout;
  conn: RedisConnection;
  server: OpsServer;
  base: string;
  close(): Promise<void>;
}

export async function startOpsFixture(
  redis: RedisServer,
  overrides: Record<string, string | number | boolean> = {},
): Promise<OpsFixture> {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    env: {},
    overrides: {
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      AB_KEY_PREFIX: prefix,
      AB_OPS_USERNAME: OPS_USER,
      AB_OPS_PASSWORD: OPS_PASSWORD,
      AB_INSTANCE_ID: 'ops-test',
      PORT: 0,
      ...overrides,
    },
  });
  const conn = createRedis(config, 'command');
  const server = createOpsServer(config, silentLogger(), { connection: conn, host: '127.0.0.1' });
  await server.start();
  return {
    config,
    keys: keyLayout(prefix),
    conn,
    server,
    base: `http://127.0.0.1:${server.port}`,
    async close() {
      await server.close();
      await closeRedis(conn);
    },
  };
}
