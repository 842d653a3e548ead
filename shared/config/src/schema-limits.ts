import { int, setting } from './setting';

/** Whole seconds in ms: the rate-limit store keeps its windows with second precision (Redis EX). */
const windowMs = (min: number, max: number) =>
  int(min, max).refine((ms) => ms % 1_000 === 0, 'a whole number of seconds, in ms (e.g. 1000)');

/**
 * Limits per user and per client IP, shared by every gateway through Redis (keys `<prefix>:limits:*`), and
 * the ops login throttle. 0 turns a limit off. SECURITY.md explains how to size them.
 */
export const limitsDefinition = {
  userRequests: setting({
    env: 'AB_LIMIT_USER_REQUESTS',
    schema: int(0, 1_000_000),
    default: 100,
    description:
      'Socket requests (subscribe, start_run, ...) one user may send per AB_LIMIT_REQUEST_WINDOW_MS, over all its ' +
      'connections and gateways; more are answered RATE_LIMITED with retryAfterMs.',
  }),
  ipRequests: setting({
    env: 'AB_LIMIT_IP_REQUESTS',
    schema: int(0, 10_000_000),
    default: 500,
    description:
      'Socket requests, connection attempts and HTTP requests one client IP may send per AB_LIMIT_REQUEST_WINDOW_MS ' +
      '(requests a user limit already refused do not count).',
  }),
  requestWindowMs: setting({
    env: 'AB_LIMIT_REQUEST_WINDOW_MS',
    schema: windowMs(1_000, 3_600_000),
    default: 1_000,
    description: 'Window of AB_LIMIT_USER_REQUESTS and AB_LIMIT_IP_REQUESTS (whole seconds).',
  }),
  userStartRuns: setting({
    env: 'AB_LIMIT_USER_START_RUNS',
    schema: int(0, 1_000_000),
    default: 30,
    description: 'start_run requests one user may make per AB_LIMIT_START_RUN_WINDOW_MS (RATE_LIMITED beyond).',
  }),
  startRunWindowMs: setting({
    env: 'AB_LIMIT_START_RUN_WINDOW_MS',
    schema: windowMs(1_000, 24 * 3_600_000),
    default: 60_000,
    description: 'Window of AB_LIMIT_USER_START_RUNS (whole seconds).',
  }),
  userRuns: setting({
    env: 'AB_LIMIT_USER_RUNS',
    schema: int(0, 100_000),
    default: 10,
    description:
      'Runs started through start_run that one user may have unfinished at once (pending or running); more are ' +
      'refused with TOO_MANY_RUNS.',
  }),
  runSlotTtlMs: setting({
    env: 'AB_LIMIT_RUN_SLOT_TTL_MS',
    schema: int(1_000, 7 * 24 * 3_600_000),
    default: 30 * 60_000,
    description:
      'A run still unfinished this long after its start_run stops counting against AB_LIMIT_USER_RUNS (an agent ' +
      'that died never ends its runs).',
  }),
  userConnections: setting({
    env: 'AB_LIMIT_USER_CONNECTIONS',
    schema: int(0, 1_000_000),
    default: 20,
    description:
      'Open Socket.IO connections one user may have over all gateways; more are refused (TOO_MANY_CONNECTIONS).',
  }),
  ipConnections: setting({
    env: 'AB_LIMIT_IP_CONNECTIONS',
    schema: int(0, 10_000_000),
    default: 500,
    description:
      'Open Socket.IO connections from one client IP over all gateways (behind a proxy, set AB_TRUST_PROXY_HOPS or ' +
      'every client shares the proxy address).',
  }),
  trustProxyHops: setting({
    env: 'AB_TRUST_PROXY_HOPS',
    schema: int(0, 10),
    default: 0,
    description:
      'Reverse proxies in front of gateways and ops whose X-Forwarded-For entries are trusted: the client IP is the ' +
      'address this many hops back. 0: the TCP peer (never trust a header a client can forge).',
  }),
  opsLoginFailures: setting({
    env: 'AB_LIMIT_OPS_LOGIN_FAILURES',
    schema: int(0, 1_000_000),
    default: 10,
    description:
      'Failed ops logins (basic auth) one client IP may make per AB_LIMIT_OPS_LOGIN_WINDOW_MS; then every ops ' +
      'request from it is answered 429 with Retry-After until the window ends.',
  }),
  opsLoginWindowMs: setting({
    env: 'AB_LIMIT_OPS_LOGIN_WINDOW_MS',
    schema: windowMs(1_000, 24 * 3_600_000),
    default: 15 * 60_000,
    description: 'Window of AB_LIMIT_OPS_LOGIN_FAILURES (whole seconds).',
  }),
};
