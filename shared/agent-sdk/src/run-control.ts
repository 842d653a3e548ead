import type { AppConfig } from '@agent-bridge/config';
import { type KeyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { type PublisherLogger } from './options';

/**
 * Listens on the control channels of the runs a publisher has open and reports each `cancel` request.
 * Opens its Pub/Sub connection on the first run (a publisher that starts no run needs none) and closes it
 * in {@link close}.
 */
export class RunControl {
  private subscriber: RedisConnection | null = null;
  /** Control channel -> run id, of the runs listened to. */
  private readonly runs = new Map<string, string>();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: KeyLayout,
    private readonly logger: PublisherLogger,
    /** Connection name prefix (`<name>-control`). */
    private readonly name: string,
    /** Called for each cancellation requested for a run listened to. */
    private readonly onCancel: (runId: string) => void,
  ) {}

  /** Subscribes to the run's control channel; resolves once subscribed. */
  async listen(runId: string): Promise<void> {
    if (!this.subscriber) {
      const sub = createRedis(this.config, 'subscriber', { name: `${this.name}-control` });
      sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
      sub.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'control subscriber error'));
      this.subscriber = sub;
    }
    const channel = this.keys.runControlChannel(runId);
    this.runs.set(channel, runId);
    await this.subscriber.subscribe(channel);
  }

  /** Stops listening for the run (in the background: a failed unsubscribe only costs a message or two). */
  unlisten(runId: string): void {
    const channel = this.keys.runControlChannel(runId);
    this.runs.delete(channel);
    const sub = this.subscriber;
    if (sub && sub.status !== 'end') {
      sub.unsubscribe(channel).catch((err: unknown) => {
        this.logger.debug({ err: (err as Error).message }, 'unsubscribe failed');
      });
    }
  }

  /** Closes the Pub/Sub connection, if one was opened. */
  async close(): Promise<void> {
    if (this.subscriber) await closeRedis(this.subscriber);
  }

  private onMessage(channel: string, message: string): void {
    let type: unknown;
    try {
      type = (JSON.parse(message) as { type?: unknown }).type;
    } catch {
      return;
    }
    const runId = this.runs.get(channel);
    if (type === 'cancel' && runId !== undefined) this.onCancel(runId);
  }
}
