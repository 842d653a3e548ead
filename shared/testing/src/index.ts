export { freePort, sleep, waitFor } from './ports';
export {
  RedisCluster,
  RedisServer,
  RedisServerNotInstalledError,
  destroyAllRedis,
  startRedis,
  startRedisMasters,
  startSentinel,
} from './redis-server';
export type { RedisServerOptions } from './redis-server';
export { useRedis } from './redis-fixture';
export type { RedisFixture } from './redis-fixture';
export { ServiceProcess, killAllServices } from './service-process';
export type { ServiceProcessOptions } from './service-process';
export { TcpProxy } from './tcp-proxy';
