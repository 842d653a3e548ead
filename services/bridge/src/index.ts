export { createReplica } from './replica';
export type { Replica, ReplicaState, ReplicaStatus } from './replica';
export { createHttpServer } from './http/server';
export { createAdminServer } from './http/admin-server';
export type { AdminServerOptions } from './http/admin-server';
export { LeaderElector } from './leader/leader-elector';
export type {
  ElectorState,
  ElectorStatus,
  LeaderAnnouncement,
  LeaderContext,
  LeaderDuty,
  LeaderElectorOptions,
  QuorumLostHook,
} from './leader/leader-elector';
export { RedlockLeaseClient } from './leader/lease-client';
export type { Lease, LeaseClient, LeaseFailure, LeaseResult, RedlockLeaseClientOptions } from './leader/lease-client';
export { FencingStore } from './leader/fencing';
export type { FencedWrite, IssueEpochResult } from './leader/fencing';
export { IntegrationService } from './integration/integration-service';
export type { IntegrationServiceOptions, IntegrationServiceStatus } from './integration/integration-service';
export { IntegrationStateStore } from './integration/state-store';
export { EndToEndProbe } from './integration/probe';
export type { ProbeMessage } from './integration/probe';
export { CheckName, deriveState } from './integration/checks';
