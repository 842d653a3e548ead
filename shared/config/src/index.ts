export { CONFIG_FILE_ENV, explainConfig, loadConfig, redactConfig } from './load';
export type { AppConfig, ConfigKeyInfo, LoadConfigOptions } from './load';
export { configDefinition } from './schema';
export { MIN_PRODUCTION_PASSWORD_CHARS, MIN_PRODUCTION_SECRET_CHARS, productionProblems } from './production';
export type { ProductionInput, ProductionProblem, ServiceName } from './production';
