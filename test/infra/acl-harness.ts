// Helpers of the Redis ACL tests: infra/redis/users.acl rendered with fresh passwords by the same script
// docker-compose.yml runs (infra/redis/render-acl.sh), loaded into a real redis-server of the test file,
// and connections logged in as each role's user.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { type RedisServer, startRedis } from '@agent-bridge/testing';

const ACL_RULES = join(__dirname, '..', '..', 'infra', 'redis', 'users.acl');
const RENDER_ACL = join(__dirname, '..', '..', 'infra', 'redis', 'render-acl.sh');

export const ROLES = ['bridge', 'gateway', 'agent', 'ops'] as const;
export type Role = (typeof ROLES)[number];

/** The ACL patterns are written for the default key prefix `ab`: tests use their own run ids instead. */
export const keys = keyLayout('ab');
export const NOPERM = /NOPERM/;
/** How Redis 7 words an ACL refusal inside a script. */
export const SCRIPT_NOPERM = /NOPERM|can't run this command|can't access|no permissions to access/;

function renderAcl(passwords: Record<Role, string>): string {
  const out = join(mkdtempSync(join(tmpdir(), 'ab-acl-')), 'users.acl');
  execFileSync('sh', [RENDER_ACL, ACL_RULES, out], {
    env: {
      PATH: process.env['PATH'],
      AB_REDIS_BRIDGE_PASSWORD: passwords.bridge,
      AB_REDIS_GATEWAY_PASSWORD: passwords.gateway,
      AB_REDIS_AGENT_PASSWORD: passwords.agent,
      AB_REDIS_OPS_PASSWORD: passwords.ops,
    },
  });
  return out;
}

export interface AclRedis {
  /** This file's redis-server, started with the rendered ACL file (set in beforeAll). */
  readonly redis: RedisServer;
  /** Config of a service logged in as `role`'s user, on the default key prefix `ab`. */
  configFor(role: Role): AppConfig;
  /** A connection as `role`'s user, closed after the file. */
  connect(role: Role, kind?: 'command' | 'worker'): RedisConnection;
}

/** Registers the Jest hooks of an ACL test file and returns its helpers. */
export function useAclRedis(): AclRedis {
  // Fresh passwords per file.
  const passwords = Object.fromEntries(ROLES.map((r) => [r, randomBytes(20).toString('hex')])) as Record<Role, string>;
  let redis: RedisServer | undefined;
  const open: RedisConnection[] = [];

  beforeAll(async () => {
    redis = await startRedis({ args: ['--aclfile', renderAcl(passwords)] });
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => closeRedis(c)));
    await redis?.destroy();
  });

  const server = (): RedisServer => {
    if (!redis) throw new Error('the ACL Redis is used before its beforeAll ran');
    return redis;
  };
  const configFor = (role: Role): AppConfig =>
    loadConfig({
      env: {},
      overrides: {
        REDIS_URL: `redis://${role}:${passwords[role]}@127.0.0.1:${server().port}`,
        AB_KEY_PREFIX: 'ab',
      },
    });

  return {
    get redis() {
      return server();
    },
    configFor,
    connect(role, kind = 'command') {
      const conn = createRedis(configFor(role), kind, { name: `acl-test-${role}` });
      open.push(conn);
      return conn;
    },
  };
}
