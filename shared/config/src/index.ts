export { CONFIG_FILE_ENV, explainConfig, loadConfig, redactConfig } from './load';
export type { AppConfig, ConfigKeyInfo, LoadConfigOptions } from './load';
export { configDefinition } from './schema';
