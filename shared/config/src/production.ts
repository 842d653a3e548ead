/**
 * Production mode: what a process refuses to start with. Development defaults (the JWT secret, the ops
 * password, the Redis users' passwords of infra/redis/users.acl, the demo sign-in) are public; in production
 * each of them is a way in, so production mode names every such key and the process exits.
 */

/** The deployable processes; each needs different secrets. */
export type ServiceName = 'bridge' | 'gateway' | 'ops' | 'agent';

/** One refused key: its environment variable and why. */
export interface ProductionProblem {
  key: string;
  message: string;
}

/** The values production mode looks at (resolved config plus which keys were set explicitly). */
export interface ProductionInput {
  jwtSecret: string | undefined;
  jwtVerifySecrets: readonly string[];
  jwtPublicKeys: boolean;
  opsPassword: string | undefined;
  bridgeAdminToken: string | undefined;
  chatPage: boolean;
  /** The gateway's catch-up after a lost adapter subscription (AB_GATEWAY_RESYNC). */
  gatewayResync: boolean;
  redisUrl: string;
  /** The independent lock masters of the leader lease (REDIS_LOCK_URLS); only the bridge connects to them. */
  redisLockUrls: readonly string[];
}

/** Shortest HMAC secret production accepts: 256 bits, the size of the HS256 hash. */
export const MIN_PRODUCTION_SECRET_CHARS = 32;
/** Shortest ops password production accepts. */
export const MIN_PRODUCTION_PASSWORD_CHARS = 12;

/**
 * Values published in this repository (schema defaults, docker-compose.yml, infra/k8s placeholders,
 * infra/redis/users.acl development passwords, README): known to everyone, so never a secret.
 */
const PUBLISHED_VALUES = new Set([
  'dev-only-insecure-jwt-secret',
  'change-me-ops',
  'bridge-dev-password',
  'gateway-dev-password',
  'agent-dev-password',
  'ops-dev-password',
]);

/** A value that looks like a placeholder ("CHANGE-ME", "changeme", "change_me_…"). */
const PLACEHOLDER = /change[-_ ]?me/i;

function isPublished(value: string): boolean {
  return PUBLISHED_VALUES.has(value) || PLACEHOLDER.test(value);
}

function weakness(value: string, minChars: number): string | null {
  if (isPublished(value)) return 'is a published default or placeholder';
  if (value.length < minChars) return `is too short for production (at least ${minChars} characters)`;
  return null;
}

function redisPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/**
 * Every reason `input` must not run in production, for `service` (undefined: only the checks that apply to
 * every process — explicitly set secrets must be strong, the demo sign-in must be off). Empty when fine.
 */
export function productionProblems(input: ProductionInput, service?: ServiceName): ProductionProblem[] {
  const problems: ProductionProblem[] = [];
  const check = (key: string, value: string | undefined, minChars: number): void => {
    if (value === undefined) return;
    const why = weakness(value, minChars);
    if (why) problems.push({ key, message: why });
  };
  check('AB_JWT_SECRET', input.jwtSecret, MIN_PRODUCTION_SECRET_CHARS);
  for (const s of input.jwtVerifySecrets) check('AB_JWT_VERIFY_SECRETS', s, MIN_PRODUCTION_SECRET_CHARS);
  check('AB_OPS_PASSWORD', input.opsPassword, MIN_PRODUCTION_PASSWORD_CHARS);
  check('AB_BRIDGE_ADMIN_TOKEN', input.bridgeAdminToken, MIN_PRODUCTION_SECRET_CHARS);
  if (input.chatPage) {
    problems.push({
      key: 'AB_GATEWAY_CHAT_PAGE',
      message: 'the demo sign-in (a token for any user name) must be off in production',
    });
  }
  if (service === undefined) return problems;

  const redisPw = redisPassword(input.redisUrl);
  if (redisPw === '') {
    problems.push({
      key: 'REDIS_URL',
      message: `production needs the ${service} service's Redis ACL user and password`,
    });
  } else if (isPublished(redisPw)) {
    problems.push({ key: 'REDIS_URL', message: 'its password is a published default or placeholder' });
  }
  // A lock master with a public password lets anyone take or break the leader lease.
  if (service === 'bridge' && input.redisLockUrls.some((url) => isPublished(redisPassword(url)))) {
    problems.push({ key: 'REDIS_LOCK_URLS', message: 'a password in it is a published default or placeholder' });
  }
  // A switch for demonstrating the fault (the nemesis, tests); off, a gateway that loses its Pub/Sub
  // subscription never sends its sockets what was published meanwhile, a run's last events included.
  if (service === 'gateway' && !input.gatewayResync) {
    problems.push({
      key: 'AB_GATEWAY_RESYNC',
      message: 'must be on in production (off, events published while the Pub/Sub link is down are never delivered)',
    });
  }
  if (service === 'gateway' && input.jwtSecret === undefined && !input.jwtPublicKeys) {
    problems.push({
      key: 'AB_JWT_SECRET',
      message: 'required in production (or public keys in AB_JWT_PUBLIC_KEYS_FILE)',
    });
  }
  if (service === 'ops' && input.opsPassword === undefined) {
    problems.push({ key: 'AB_OPS_PASSWORD', message: 'required in production' });
  }
  return problems;
}
