export { Lifecycle, closeAll } from './lifecycle';
export type { CloseStep, LifecycleState } from './lifecycle';
export { PROBE_PATHS, installProbes } from './probes';
export type { ProbeOptions } from './probes';
export { runService } from './service';
export type { ServiceContext, ServiceKind } from './service';
export { ShutdownManager } from './shutdown';
