import { randomUUID } from 'node:crypto';
import type { PublishedResult } from '@agent-bridge/control-plane';
import type { KeyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';
import type { LeaderContext } from '../leader/duty';
import type { LeaderElector } from '../leader/leader-elector';

/** A standby's request for an ensure attempt, published on `keys.ensureRequestChannel`. */
interface EnsureRequest {
  requestId: string;
  from: string;
  at: number;
}

/** What {@link EnsureRpc} works with (owned by the integration service). */
export interface EnsureRpcOptions {
  id: string;
  keys: KeyLayout;
  connection: RedisConnection;
  subscriber: RedisConnection;
  elector: LeaderElector;
  logger: Logger;
  /** Runs an ensure attempt as leader (what a standby's request triggers). */
  runEnsure: (ctx: LeaderContext, why: string) => Promise<PublishedResult>;
}

/**
 * The standby ↔ leader side of `ensureIntegration()` over Pub/Sub: a standby publishes a request and waits
 * for the leader's next published result; the leader answers requests by running an ensure attempt.
 */
export class EnsureRpc {
  private readonly waiters = new Set<(r: PublishedResult | null) => void>();
  private listening = false;
  private readonly onMessage = (channel: string, message: string): void => this.handleMessage(channel, message);

  constructor(private readonly options: EnsureRpcOptions) {}

  /** Subscribes to ensure requests and results. */
  async start(): Promise<void> {
    const { subscriber, keys } = this.options;
    this.listening = true;
    subscriber.on('message', this.onMessage);
    await subscriber.subscribe(keys.ensureRequestChannel, keys.integrationResult);
  }

  /** Asks the leader; resolves with its next published result, or null after `timeoutMs` or on close. */
  async ask(timeoutMs: number): Promise<PublishedResult | null> {
    const { keys, connection, id } = this.options;
    let timer: NodeJS.Timeout | undefined;
    let waiter: ((r: PublishedResult | null) => void) | undefined;
    const next = new Promise<PublishedResult | null>((resolve) => {
      waiter = resolve;
      this.waiters.add(resolve);
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    try {
      const request: EnsureRequest = { requestId: randomUUID(), from: id, at: Date.now() };
      await connection.publish(keys.ensureRequestChannel, JSON.stringify(request));
      return await next;
    } finally {
      clearTimeout(timer);
      if (waiter) this.waiters.delete(waiter);
    }
  }

  /** Stops listening; pending asks resolve null. */
  async close(): Promise<void> {
    const { subscriber, keys } = this.options;
    if (this.listening) {
      this.listening = false;
      subscriber.off('message', this.onMessage);
      await subscriber.unsubscribe(keys.ensureRequestChannel, keys.integrationResult).catch(() => undefined);
    }
    this.settle(null);
  }

  private settle(result: PublishedResult | null): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w(result);
  }

  private handleMessage(channel: string, message: string): void {
    const { keys, logger } = this.options;
    if (channel === keys.integrationResult) {
      let result: PublishedResult;
      try {
        result = JSON.parse(message) as PublishedResult;
      } catch {
        return;
      }
      this.settle(result);
      return;
    }
    if (channel === keys.ensureRequestChannel) {
      const ctx = this.options.elector.context;
      if (!ctx) return;
      this.options.runEnsure(ctx, 'ensureIntegration requested by a replica').catch((err: unknown) => {
        if (!ctx.signal.aborted) logger.warn({ err }, 'requested ensure failed');
      });
    }
  }
}
