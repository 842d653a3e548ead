import { type BridgeClient, connect } from '@agent-bridge/client';
import type { EventEnvelope } from '@agent-bridge/protocol';
import { RawClient } from '../protocol/raw-client';
import type { DeliveryEntry, SubscriberHistory } from './history';

/** What both kinds of subscriber offer the nemesis. */
export interface Subscriber {
  readonly history: SubscriberHistory;
  /** Subscribes to one more run of its user. */
  add(runId: string): void;
  /** Events handed to the application so far (all runs). */
  delivered(runId: string): number;
  close(): void;
}

const entry = (e: EventEnvelope): DeliveryEntry => ({
  kind: 'event',
  id: e.id,
  seq: e.seq,
  epoch: e.epoch,
  type: e.type,
  payload: JSON.stringify(e.payload),
  at: Date.now(),
  ts: e.ts,
});

function count(log: DeliveryEntry[] | undefined): number {
  return (log ?? []).filter((e) => e.kind === 'event').length;
}

/** A subscriber using the client SDK, starting on `urls[0]` and failing over along the list. */
export class SdkSubscriber implements Subscriber {
  readonly history: SubscriberHistory;
  private readonly client: BridgeClient;

  constructor(name: string, userId: string, urls: string[], token: string) {
    this.history = { name, kind: 'sdk', userId, runs: {} };
    this.client = connect(urls, { token, reconnectDelayMs: 100, reconnectDelayMaxMs: 1_000 });
  }

  add(runId: string): void {
    const log: DeliveryEntry[] = [];
    this.history.runs[runId] = log;
    const gaveUp = (err: { code?: string; message: string }): void => {
      (this.history.errors ??= []).push(`${runId}: ${err.code ?? ''} ${err.message}`);
    };
    const sub = this.client.subscribe(runId, (e) => log.push(entry(e)), {
      onReset: (info) => log.push({ kind: 'reset', epoch: info.epoch }),
      onError: gaveUp,
    });
    // A refused subscribe shows up as lost events in the checker; the SDK retries transport failures itself.
    sub.ready.catch(gaveUp);
  }

  delivered(runId: string): number {
    return count(this.history.runs[runId]);
  }

  close(): void {
    this.client.close();
  }
}

/**
 * A subscriber that speaks only docs/protocol.md over a bare `socket.io-client` ({@link RawClient}),
 * starting on `urls[0]` and moving along the list when a gateway is gone; `recovered: false` is recorded
 * as a reset of the run.
 */
export class RawSubscriber implements Subscriber {
  readonly history: SubscriberHistory;
  private readonly client: RawClient;

  constructor(name: string, userId: string, urls: string[], token: string) {
    this.history = { name, kind: 'raw', userId, runs: {} };
    this.client = new RawClient(urls, token, {
      onEvent: (runId, e) => this.history.runs[runId]?.push(entry(e)),
      onReset: (runId, epoch) => this.history.runs[runId]?.push({ kind: 'reset', epoch }),
    });
  }

  add(runId: string): void {
    this.history.runs[runId] = [];
    this.client.subscribe(runId);
  }

  delivered(runId: string): number {
    return count(this.history.runs[runId]);
  }

  close(): void {
    this.client.close();
  }
}
