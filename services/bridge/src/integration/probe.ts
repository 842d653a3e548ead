import { randomUUID } from 'node:crypto';
import type { AppConfig } from '@agent-bridge/config';
import type { KeyLayout, PubSubMode } from '@agent-bridge/protocol';
import { type RedisConnection, resolvePubSubMode } from '@agent-bridge/redis';
import { Emitter } from '@socket.io/redis-emitter';
import { ShardedMessages } from '../routing/sharded-messages';
import type { CheckFinding } from './checks';

/** Payload of the `probe` server-side event the gateways receive through the Socket.IO Redis adapter. */
export interface ProbeMessage {
  probeId: string;
  /** Each gateway PUBLISHes its gateway id on this channel. */
  replyChannel: string;
}

export interface ProbeOptions {
  /** Publishes through the Socket.IO adapter channel; never closed. */
  connection: RedisConnection;
  /** Subscribes to the reply channel; never closed. */
  subscriber: RedisConnection;
  keys: KeyLayout;
  timeoutMs: number;
  latencyWarnMs: number;
  /** AB_PUBSUB_MODE and the masters decide the mode when {@link pubsubMode} gives none. */
  config: AppConfig;
  /**
   * The replica's Pub/Sub mode (the probe must travel the way its events do). @defaultValue resolved from
   * `config` and the masters on the first probe
   */
  pubsubMode?: () => PubSubMode | null;
}

/**
 * The end-to-end probe: bridge → Socket.IO Redis adapter → every gateway → back over Pub/Sub. Emits
 * `serverSideEmit('probe', { probeId, replyChannel })` in the replica's Pub/Sub mode — classic with
 * `@socket.io/redis-emitter`, sharded as the sharded adapter would (SPUBLISH), key `keys.socketIoKey` — and
 * waits up to `timeoutMs` for every expected gateway id on `keys.probeReplyChannel(probeId)`. A gateway in
 * the other mode never hears it, so a Pub/Sub mode mismatch shows as a failed probe.
 */
export class EndToEndProbe {
  private readonly emitter: Emitter;
  private sharded: ShardedMessages | null = null;
  private resolved: Promise<PubSubMode> | null = null;

  constructor(private readonly options: ProbeOptions) {
    this.emitter = new Emitter(options.connection, { key: options.keys.socketIoKey });
  }

  private async mode(): Promise<PubSubMode> {
    const given = this.options.pubsubMode?.();
    if (given) return given;
    this.resolved ??= resolvePubSubMode(this.options.connection, this.options.config).then((r) => r.mode);
    return this.resolved;
  }

  private async emitProbe(message: ProbeMessage): Promise<void> {
    if ((await this.mode()) === 'classic') {
      this.emitter.serverSideEmit('probe', message);
      return;
    }
    this.sharded ??= new ShardedMessages(this.options.keys.socketIoKey);
    const { channel, message: bytes } = this.sharded.serverSideEmit('probe', message);
    await this.options.connection.spublish(channel, bytes);
  }

  /** None answered → fail; some missing or slow → warn; all answered in time → ok. */
  async run(expectedGatewayIds: readonly string[]): Promise<CheckFinding> {
    const { subscriber, keys, timeoutMs, latencyWarnMs } = this.options;
    if (expectedGatewayIds.length === 0) return { severity: 'fail', detail: 'skipped: no gateway alive' };
    const probeId = randomUUID();
    const replyChannel = keys.probeReplyChannel(probeId);
    const expected = new Set(expectedGatewayIds);
    const answered = new Map<string, number>();
    const started = performance.now();
    let finish: () => void = () => undefined;
    const allIn = new Promise<void>((resolve) => (finish = resolve));
    const onMessage = (channel: string, message: string): void => {
      if (channel !== replyChannel) return;
      if (!answered.has(message)) answered.set(message, performance.now() - started);
      if ([...expected].every((id) => answered.has(id))) finish();
    };
    subscriber.on('message', onMessage);
    let timer: NodeJS.Timeout | undefined;
    try {
      await subscriber.subscribe(replyChannel);
      const message: ProbeMessage = { probeId, replyChannel };
      await this.emitProbe(message);
      await Promise.race([allIn, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    } finally {
      clearTimeout(timer);
      subscriber.off('message', onMessage);
      await subscriber.unsubscribe(replyChannel).catch(() => undefined);
    }
    const got = [...expected].filter((id) => answered.has(id));
    const missing = [...expected].filter((id) => !answered.has(id));
    const slowest = Math.round(Math.max(0, ...got.map((id) => answered.get(id) ?? 0)));
    if (got.length === 0) {
      return { severity: 'fail', detail: `no gateway answered the probe within ${timeoutMs} ms` };
    }
    if (missing.length > 0) {
      return {
        severity: 'warn',
        detail: `${got.length}/${expected.size} gateways answered; missing: ${missing.join(', ')}`,
      };
    }
    if (slowest > latencyWarnMs) {
      return { severity: 'warn', detail: `round trip ${slowest} ms is over ${latencyWarnMs} ms` };
    }
    return { severity: 'ok', detail: `${got.length} gateways answered, slowest ${slowest} ms` };
  }
}
