import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError } from '@agent-bridge/protocol';
import { parse as parseYaml } from 'yaml';
import { type ServiceName, productionProblems } from './production';
import { configDefinition } from './schema';
import { type ConfigOf, type SecretKind, type Setting, type SettingTree, isSetting } from './setting';

/** The fully resolved, typed configuration of a process. */
export type AppConfig = ConfigOf<typeof configDefinition> & {
  instanceId: string;
  /** Resolved mode: `AB_MODE`, else production when `NODE_ENV=production`, else development. */
  mode: 'development' | 'production';
};

/** Environment variable naming an optional JSON or YAML config file (nested keys, as in `explainConfig`). */
export const CONFIG_FILE_ENV = 'AB_CONFIG_FILE';

export interface LoadConfigOptions {
  /** Variables to read. @defaultValue `process.env` */
  env?: Readonly<Record<string, string | undefined>>;
  /** Config file; overrides `AB_CONFIG_FILE`. Environment variables win over the file. */
  file?: string;
  /** Values that win over everything (used by tests and the launcher), keyed by env name. */
  overrides?: Readonly<Record<string, string | number | boolean | undefined>>;
  /**
   * The process this configuration is for. In production mode each service also checks the secrets it
   * needs are present (gateway: a token key, ops: a password, all: Redis credentials); without it only the
   * checks common to every process run (tools such as the CLI).
   */
  service?: ServiceName;
}

interface Leaf {
  path: string[];
  setting: Setting;
}

function leaves(tree: SettingTree, prefix: string[] = []): Leaf[] {
  return Object.entries(tree).flatMap(([key, node]) =>
    isSetting(node) ? [{ path: [...prefix, key], setting: node }] : leaves(node, [...prefix, key]),
  );
}

const ALL_LEAVES = leaves(configDefinition);

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`${CONFIG_FILE_ENV}: cannot read config file ${path}`, [
      { key: CONFIG_FILE_ENV, message: cause instanceof Error ? cause.message : String(cause) },
    ]);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new ConfigError(`${CONFIG_FILE_ENV}: ${path} is not valid JSON/YAML: ${(cause as Error).message}`, [
      { key: CONFIG_FILE_ENV, message: 'not valid JSON/YAML' },
    ]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`${CONFIG_FILE_ENV}: ${path} must hold an object`, [
      { key: CONFIG_FILE_ENV, message: 'must hold an object' },
    ]);
  }
  return parsed as Record<string, unknown>;
}

function getPath(obj: Record<string, unknown>, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    cur[key] ??= {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1] as string] = value;
}

function checkFileKeys(file: Record<string, unknown>, problems: { key: string; message: string }[]): void {
  const known = new Set(ALL_LEAVES.map((l) => l.path.join('.')));
  const walk = (node: Record<string, unknown>, prefix: string[]): void => {
    for (const [key, value] of Object.entries(node)) {
      const path = [...prefix, key];
      const dotted = path.join('.');
      if (known.has(dotted)) continue;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        walk(value as Record<string, unknown>, path);
      } else {
        problems.push({ key: dotted, message: 'unknown key in config file' });
      }
    }
  };
  walk(file, []);
}

/**
 * Reads and validates the whole configuration: overrides, then environment, then the config file, then
 * defaults. Throws one {@link ConfigError} that names every invalid key (by its environment variable)
 * and what was expected.
 */
export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  // The one place that reads the process environment.
  const env = options.env ?? process.env;
  const filePath = options.file ?? env[CONFIG_FILE_ENV];
  const file = filePath ? readFile(filePath) : {};
  const problems: { key: string; message: string }[] = [];
  checkFileKeys(file, problems);

  const explicit = (path: string[], setting: Setting): unknown => {
    const override = options.overrides?.[setting.env];
    const fromEnv = env[setting.env];
    const fromFile = getPath(file, path);
    return override !== undefined ? override : fromEnv !== undefined && fromEnv !== '' ? fromEnv : fromFile;
  };
  const modeRaw = explicit(['mode'], configDefinition.mode);
  const production =
    modeRaw !== undefined ? modeRaw === 'production' : explicit(['nodeEnv'], configDefinition.nodeEnv) === 'production';

  const result: Record<string, unknown> = {};
  for (const { path, setting } of ALL_LEAVES) {
    // Production never falls back to a published development value: such a key is simply unset.
    const raw = explicit(path, setting) ?? (production && setting.devOnlyDefault ? undefined : setting.default);
    if (raw === undefined) {
      const parsed = setting.schema.safeParse(undefined);
      if (parsed.success) setPath(result, path, parsed.data);
      else problems.push({ key: setting.env, message: 'required' });
      continue;
    }
    const parsed = setting.schema.safeParse(raw);
    if (parsed.success) {
      setPath(result, path, parsed.data);
    } else {
      const shown = setting.secret ? '(hidden)' : JSON.stringify(raw);
      const expected = parsed.error.issues.map((i) => i.message).join('; ');
      problems.push({ key: setting.env, message: `got ${shown}, expected ${expected}` });
    }
  }

  // Every leaf was parsed by its schema above (or a problem recorded, which throws below).
  const parsed = result as ConfigOf<typeof configDefinition>;
  const config: AppConfig = {
    ...parsed,
    instanceId: parsed.instanceId ?? `${hostname()}-${process.pid}`,
    mode: production ? 'production' : 'development',
  };
  if (problems.length === 0) crossChecks(config, problems);
  if (problems.length > 0) {
    throw new ConfigError(
      `invalid configuration:\n${problems.map((p) => `  ${p.key}: ${p.message}`).join('\n')}`,
      problems,
    );
  }
  if (production) {
    const refused = productionProblems(
      {
        jwtSecret: config.auth.jwtSecret,
        jwtVerifySecrets: config.auth.jwtVerifySecrets.map((pair) => pair.slice(pair.indexOf('=') + 1)),
        jwtPublicKeys: config.auth.jwtPublicKeysFile !== undefined,
        opsPassword: config.ops.password,
        bridgeAdminToken: config.bridge.adminToken,
        chatPage: config.gateway.chatPage,
        gatewayResync: config.gateway.resync,
        redisUrl: config.redis.url,
        redisLockUrls: config.redis.lockUrls,
      },
      options.service,
    );
    if (refused.length > 0) {
      throw new ConfigError(
        `refusing to start in production mode (AB_MODE / NODE_ENV=production); fix these keys (SECURITY.md):\n` +
          refused.map((p) => `  ${p.key}: ${p.message}`).join('\n'),
        refused,
      );
    }
  }
  return config;
}

function crossChecks(c: AppConfig, problems: { key: string; message: string }[]): void {
  if (c.leader.extendBeforeMs >= c.leader.leaseTtlMs) {
    problems.push({
      key: 'AB_LEADER_EXTEND_BEFORE_MS',
      message: `must be below AB_LEADER_LEASE_TTL_MS (${c.leader.leaseTtlMs})`,
    });
  }
  if (c.membership.heartbeatTtlMs <= c.membership.heartbeatIntervalMs) {
    problems.push({
      key: 'AB_HEARTBEAT_TTL_MS',
      message: `must be above AB_HEARTBEAT_INTERVAL_MS (${c.membership.heartbeatIntervalMs})`,
    });
  }
  if (c.auth.tokenTtlMs > c.auth.jwtMaxLifetimeMs) {
    problems.push({
      key: 'AB_TOKEN_TTL_MS',
      message: `must not exceed AB_JWT_MAX_LIFETIME_MS (${c.auth.jwtMaxLifetimeMs})`,
    });
  }
  if (c.recovery.backoffMaxMs < c.recovery.backoffMs) {
    problems.push({ key: 'AB_RECOVERY_BACKOFF_MAX_MS', message: 'must be at least AB_RECOVERY_BACKOFF_MS' });
  }
  if (c.redis.mode === 'cluster' && c.redis.clusterNodes.length === 0) {
    problems.push({ key: 'REDIS_CLUSTER_NODES', message: 'required when REDIS_MODE=cluster' });
  }
  if (c.redis.mode === 'sentinel' && c.redis.sentinels.length === 0) {
    problems.push({ key: 'REDIS_SENTINELS', message: 'required when REDIS_MODE=sentinel' });
  }
}

const HIDDEN = '***';

function redactValue(value: unknown, kind: SecretKind): unknown {
  if (!kind || value === undefined) return value;
  if (kind === 'value') return HIDDEN;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, kind));
  if (typeof value !== 'string') return HIDDEN;
  try {
    const url = new URL(value);
    if (url.password) url.password = HIDDEN;
    return url.toString();
  } catch {
    return HIDDEN;
  }
}

/** A copy of `config` that is safe to print or log: secrets hidden, passwords cut out of URLs. */
export function redactConfig(config: AppConfig): AppConfig {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const { path, setting } of ALL_LEAVES) {
    if (setting.secret) setPath(copy, path, redactValue(getPath(copy, path), setting.secret));
  }
  return copy as unknown as AppConfig;
}

/** One row of {@link explainConfig}. */
export interface ConfigKeyInfo {
  /** Dotted path in the config object and in a config file. */
  key: string;
  env: string;
  /** Default value (secrets redacted), or undefined when optional with no default. */
  default: unknown;
  description: string;
  secret: boolean;
}

/** Every configuration key with its environment variable, default and description. */
export function explainConfig(): ConfigKeyInfo[] {
  return ALL_LEAVES.map(({ path, setting }) => ({
    key: path.join('.'),
    env: setting.env,
    default: redactValue(setting.default, setting.secret),
    description: setting.description,
    secret: setting.secret !== false,
  }));
}
