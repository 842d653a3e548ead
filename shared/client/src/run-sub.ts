import { type EventEnvelope } from '@agent-bridge/protocol';
import { type SubscribeOptions, type SubscriptionInfo } from './types';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The state of one subscribed run: what was delivered, what waits for a missing seq, what is in flight. */
export interface RunSub {
  runId: string;
  onEvent: (event: EventEnvelope) => void;
  options: SubscribeOptions;
  lastSeq: number;
  epoch: number;
  pending: Map<number, EventEnvelope>;
  inFlight: boolean;
  again: boolean;
  gapTimer: ReturnType<typeof setTimeout> | null;
  retryTimer: ReturnType<typeof setTimeout> | null;
  ready: Deferred<SubscriptionInfo>;
  isReady: boolean;
  active: boolean;
  /** Epoch ms of the last event delivered or ack received (for the head check). */
  lastActivityAt: number;
  /** A terminal event was delivered, or an ack said the run ended and nothing after lastSeq exists. */
  ended: boolean;
}

/** A run subscription that has delivered nothing after `options.afterSeq` yet. */
export function newRunSub(runId: string, onEvent: (event: EventEnvelope) => void, options: SubscribeOptions): RunSub {
  const sub: RunSub = {
    runId,
    onEvent,
    options,
    lastSeq: options.afterSeq ?? 0,
    epoch: options.epoch ?? 0,
    pending: new Map(),
    inFlight: false,
    again: false,
    gapTimer: null,
    retryTimer: null,
    ready: deferred(),
    isReady: false,
    active: true,
    lastActivityAt: Date.now(),
    ended: false,
  };
  // An unobserved rejection of `ready` must not crash the app; callers that care await it.
  sub.ready.promise.catch(() => undefined);
  return sub;
}
