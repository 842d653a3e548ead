import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Service name, added to every line. */
  service: string;
  /** Instance id, added to every line. */
  instanceId: string;
  level: string;
}

/**
 * The structured logger of a service (pino, JSON lines on stdout). Library code takes a `Logger` from
 * its caller; it never logs tokens, secrets or payload bodies at info level.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino({
    level: options.level,
    base: { service: options.service, instance: options.instanceId },
    redact: {
      paths: ['token', '*.token', 'auth.token', 'password', '*.password', 'secret', '*.secret'],
      censor: '***',
    },
  });
}

/** A logger that drops everything (tests, tools). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
