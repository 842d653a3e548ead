export { createLogger, silentLogger } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { ShutdownManager } from './shutdown';
