import type { OutputSink } from './output';
import type { RestartPolicy, SupervisionGaveUpError } from './supervisor';

/** Options of the `Launcher`. */
export interface LauncherOptions {
  /** Root of the repository (where `services/` is). */
  repoRoot: string;
  /** Bridge replicas to start. @defaultValue 2 */
  replicas?: number;
  /** Gateways to start (each on its own port). @defaultValue 2 */
  gateways?: number;
  /** Use this Redis; when undefined an embedded `redis-server` is started. */
  redisUrl?: string;
  /** State folder; the embedded Redis keeps its data in `<stateDir>/redis`. @defaultValue `<repoRoot>/.state` */
  stateDir?: string;
  /** Environment handed to every child (the launcher adds REDIS_URL, PORT and AB_INSTANCE_ID). */
  env: NodeJS.ProcessEnv;
  /** Where logs and the banner go. */
  sink: OutputSink;
  /** Deadline for the integration to become ACTIVE. @defaultValue 120000 */
  readyTimeoutMs?: number;
  /** Per-child deadline of a graceful stop before SIGKILL. @defaultValue 10000 */
  graceMs?: number;
  /** Preferred first ports (the next free port is taken when one is busy). */
  basePorts?: { gateway?: number; ops?: number; bridge?: number; redis?: number };
  /** Start the demo agent. @defaultValue true */
  demoAgent?: boolean;
  /**
   * How a child or the embedded Redis that dies after the cluster is ready is restarted.
   * @defaultValue `restartPolicy()`'s defaults (5 tries, 500 ms doubling up to 15 s)
   */
  restartPolicy?: Partial<RestartPolicy>;
  /**
   * Called when a process kept dying and supervision gave up (after the launcher said so loudly).
   * @defaultValue stop the whole cluster (`close()`)
   */
  onGiveUp?: (error: SupervisionGaveUpError) => void;
}

/** A started process, as reported by `Launcher.getProcesses()`. */
export interface LaunchedProcess {
  name: string;
  pid: number | undefined;
  port?: number;
  running: boolean;
}

/** What the launcher knows once the cluster is up. */
export interface LaunchedCluster {
  redisUrl: string;
  embeddedRedis: boolean;
  chatUrls: string[];
  statusUrl: string;
  bullBoardUrl: string;
  processes: LaunchedProcess[];
}
