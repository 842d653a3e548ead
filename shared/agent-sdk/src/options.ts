import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { ConfigError } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';

/**
 * The logging calls the SDK makes. A pino logger fits, and so does any object with these methods: the SDK
 * does not impose a logging library on the agent.
 */
export interface PublisherLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): PublisherLogger;
}

const noop = (): void => undefined;

/** The default logger: drops everything. */
export const silentPublisherLogger: PublisherLogger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentPublisherLogger,
};

/** Options of {@link AgentPublisher.create}: either a whole `config`, or a plain `redis` URL. */
export interface AgentPublisherOptions {
  /**
   * The redis URL of the deployment (`redis://user:password@host:6379`, `rediss://…` for TLS). Every other
   * setting takes its default unless the process environment sets it (`AB_KEY_PREFIX`, `AB_EVENTS_QUEUE`,
   * `REDIS_MODE`, …: docs/configuration.md). Give this or `config`, not both.
   */
  redis?: string;
  /** Key prefix of the deployment (`AB_KEY_PREFIX`), with `redis`. @defaultValue 'ab' or `AB_KEY_PREFIX` */
  keyPrefix?: string;
  /** The whole configuration (`loadConfig()` of `@agent-bridge/config`, as the services do). */
  config?: AppConfig;
  /** @defaultValue a logger that drops everything */
  logger?: PublisherLogger;
  /**
   * Command-role connection to share (BullMQ queue, registry writes); never closed by the publisher.
   * @defaultValue a connection the publisher opens and closes
   */
  connection?: RedisConnection;
  /** Connection name shown in `CLIENT LIST`. @defaultValue 'agent-sdk' */
  name?: string;
}

/**
 * The configuration a publisher runs with.
 * @throws ConfigError when neither or both of `redis` and `config` are given, or a setting is invalid
 */
export function resolvePublisherConfig(options: AgentPublisherOptions): AppConfig {
  const hasRedis = options.redis !== undefined;
  if (options.config !== undefined && (hasRedis || options.keyPrefix !== undefined)) {
    throw new ConfigError('AgentPublisher.create: give either { config } or { redis }, not both', [
      { key: 'redis', message: 'not allowed with config' },
    ]);
  }
  if (options.config !== undefined) return options.config;
  if (typeof options.redis !== 'string' || options.redis.trim() === '') {
    throw new ConfigError("AgentPublisher.create needs { redis: 'redis://host:6379' } or { config }", [
      { key: 'redis', message: 'required: a redis:// or rediss:// URL' },
    ]);
  }
  return loadConfig({
    overrides: {
      REDIS_URL: options.redis,
      ...(options.keyPrefix !== undefined ? { AB_KEY_PREFIX: options.keyPrefix } : {}),
    },
  });
}
