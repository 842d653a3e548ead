/** IPC messages between the agents benchmark's orchestrator and its producer processes. */

/** agent-bridge (agent SDK) or the naive glue (`queue.add` per token). */
export type Side = 'ours' | 'naive';

/** Tells a producer how to connect (agent SDK config env, naive queue name and prefix). */
export interface InitMessage {
  type: 'init';
  env: Record<string, string>;
  naiveQueue: string;
  naivePrefix: string;
}

/** Registers the runs a producer will stream (agent-bridge: `startRun`). */
export interface PrepareMessage {
  type: 'prepare';
  side: Side;
  runs: { runId: string; userId: string }[];
}

/** Streams the prepared runs: one slot every `intervalMs` per run (0 = as fast as awaited emits go) until `endAt`. */
export interface GoMessage {
  type: 'go';
  side: Side;
  runIds: string[];
  intervalMs: number;
  startAt: number;
  endAt: number;
  /** Every n-th slot is a tool call (two events); 0 = none. */
  toolEvery: number;
  /** Stop a run after this many units (0 = no bound). */
  maxUnitsPerRun: number;
}

export type ProducerMessage = InitMessage | PrepareMessage | GoMessage | { type: 'stop' };

/** What a producer reports after a `go`. */
export interface ProducerReport {
  type: 'report';
  /** Units (tokens + tool events) sent per run; the run's units are numbered 1..sent. */
  sent: Record<string, number>;
  /** Emit slots taken. */
  emits: number;
  /** Producer CPU (user + system) during the go, µs. */
  cpuUs: number;
  wallMs: number;
  /** How far emits ran behind their schedule, ms. */
  lateness: { p50: number; p99: number; max: number };
}
