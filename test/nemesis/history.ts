/**
 * The recorded history of one nemesis run: what the producers emitted (acknowledged), what every
 * subscriber handed its application, what Redis stored, which leaders were seen, and which faults were
 * injected. The checker judges it; it is plain JSON so a failing run can be saved and judged again.
 */

/** One event as an application or the store saw it. */
export interface SeenEvent {
  id: string;
  seq: number;
  epoch: number;
  type: string;
  /** Payload as JSON text (compared verbatim with what was emitted). */
  payload: string;
}

/** An entry of a subscriber's delivery log: an event, or a `recovered: false` reset of the run. */
export type DeliveryEntry =
  | ({ kind: 'event'; at?: number; ts?: number } & SeenEvent) // at: handed over (epoch ms); ts: emitted
  | { kind: 'reset'; epoch: number };

/** One acknowledged emit, in emit order. */
export interface EmittedEvent {
  id: string;
  type: string;
  payload: string;
}

export interface RunHistory {
  runId: string;
  userId: string;
  /** Acknowledged emits in emit (= seq) order. */
  emitted: EmittedEvent[];
  /** Emits that were never acknowledged (the run cannot be judged exactly; reported). */
  unacknowledged: number;
  /** The run's committed history read back from Redis at the end (null: the run record is gone). */
  stored: SeenEvent[] | null;
}

export interface SubscriberHistory {
  /** e.g. `sdk:gateway-1:user-0`. */
  name: string;
  kind: 'sdk' | 'raw';
  userId: string;
  /** runId → what the application was handed, in order. */
  runs: Record<string, DeliveryEntry[]>;
  /** Subscriptions the client gave up (`runId: code message`), for the report. */
  errors?: string[];
}

/** A leader seen at some moment: polled from the leader record, or from a published state transition. */
export interface LeaderObservation {
  at: number;
  leaderId: string;
  epoch: number;
  source: 'poll' | 'transition';
}

/** A fault as injected (for the report). */
export interface FaultRecord {
  at: number;
  kind: string;
  target: string;
  durationMs: number;
}

export interface NemesisHistory {
  seed: number;
  /** Epoch ms when the fault phase started (fault `at` values are relative to it). */
  startedAt?: number;
  mode: 'standalone' | 'sentinel';
  runs: RunHistory[];
  subscribers: SubscriberHistory[];
  /** Poll observations in time order; transition observations in publication order. */
  leaders: LeaderObservation[];
  faults: FaultRecord[];
}
