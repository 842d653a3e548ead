// One trace per event, emit → queue → bridge → gateway, with the right span kinds and messaging
// attributes, recorded by an in-memory span exporter. The real components run in this process (agent SDK
// publisher, a bridge replica with its BullMQ workers, a Socket.IO gateway, a socket.io client) over a
// real redis-server. The emit span is never made active and BullMQ runs its processor in the worker's own
// async context, so the bridge and the gateway can only find the trace through the envelope's traceparent
// (which the test also reads back from the committed history in Redis).
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { createReplica } from '@agent-bridge/bridge';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { signToken } from '@agent-bridge/auth';
import { createGateway } from '@agent-bridge/gateway';
import { type EventEnvelope, type SubscribeAck, keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { silentLogger, startTelemetry } from '@agent-bridge/telemetry';
import { type RedisServer, startRedis, waitFor } from '@agent-bridge/testing';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { randomUUID } from 'node:crypto';
import { io as ioClient } from 'socket.io-client';

jest.setTimeout(120_000);

let redis: RedisServer | undefined;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.destroy();
});

test('one trace id covers emit (PRODUCER) → bridge commit (CONSUMER) → gateway delivery (PRODUCER), with messaging attributes', async () => {
  const prefix = `trace-${randomUUID().slice(0, 8)}`;
  const config: AppConfig = loadConfig({
    env: {},
    overrides: {
      REDIS_URL: redis!.url,
      AB_KEY_PREFIX: prefix,
      AB_INSTANCE_ID: `${prefix}-node`,
      AB_JWT_SECRET: 'trace-test-secret-long-enough',
      AB_HEARTBEAT_INTERVAL_MS: 300,
      AB_HEARTBEAT_TTL_MS: 1500,
      PORT: 0,
    },
  });
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter });
  const telemetry = startTelemetry({
    config,
    serviceName: 'trace-e2e',
    spanProcessors: [processor],
    metricReaders: [],
  });
  const logger = silentLogger();
  const replica = createReplica(config, logger);
  const gateway = createGateway(config, logger, { host: '127.0.0.1' });
  const publisher = await AgentPublisher.create({ config });
  const conn = createRedis(config, 'command');
  try {
    await replica.start();
    await gateway.start();
    const handle = await publisher.startRun({ userId: 'alice', agent: 'tracer' });
    const socket = ioClient(`http://127.0.0.1:${gateway.port}`, {
      auth: { token: await signToken('alice', config.auth) },
      transports: ['websocket'],
    });
    const live: EventEnvelope[] = [];
    socket.on('agent_event', (e: EventEnvelope) => live.push(e));
    const ack = (await socket.timeout(10_000).emitWithAck('subscribe', { runId: handle.runId })) as SubscribeAck;
    expect(ack.ok).toBe(true);

    const emitted = [
      await handle.started({ q: 'trace me' }),
      await handle.thinking('step 1'),
      await handle.complete({ answer: 42 }),
    ];
    await waitFor('three live events at the client', () => live.length === 3, { timeoutMs: 30_000 });
    expect(live.map((e) => e.seq)).toEqual([1, 2, 3]);
    socket.close();
    await processor.forceFlush();
    const spans = exporter.getFinishedSpans();

    // The committed envelopes carry the emit span's context (the job's data, not process memory).
    const history = (await conn.xrange(keyLayout(prefix).runHistory(handle.runId), '-', '+')).map(
      ([, fields]) => JSON.parse(fields[1] as string) as EventEnvelope,
    );
    expect(history.map((e) => e.id)).toEqual(emitted.map((e) => e.id));

    for (const [i, { id }] of emitted.entries()) {
      const ofEvent = spans.filter((s) => s.attributes['messaging.message.id'] === id);
      const producer = one(
        ofEvent,
        (s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.system'] === 'bullmq',
      );
      const consumer = one(ofEvent, (s) => s.kind === SpanKind.CONSUMER);
      const delivery = one(
        ofEvent,
        (s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.system'] === 'socket.io',
      );
      const traceId = producer.spanContext().traceId;
      expect({ event: id, consumer: consumer.spanContext().traceId, delivery: delivery.spanContext().traceId }).toEqual(
        {
          event: id,
          consumer: traceId,
          delivery: traceId,
        },
      );
      expect(history[i]!.traceparent).toBe(`00-${traceId}-${producer.spanContext().spanId}-01`);
      expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
      expect(producer.attributes).toMatchObject({
        'messaging.destination.name': config.queues.events,
        'messaging.operation.type': 'send',
        'messaging.message.conversation_id': handle.runId,
      });
      expect(consumer.attributes).toMatchObject({
        'messaging.system': 'bullmq',
        'messaging.destination.name': config.queues.events,
        'messaging.operation.type': 'process',
        'agent_bridge.seq': i + 1,
      });
      expect(delivery.attributes).toMatchObject({
        'messaging.destination.name': `run:${handle.runId}`,
        'messaging.operation.type': 'send',
        'agent_bridge.seq': i + 1,
      });
      // Every span of the event is in that one trace.
      expect(new Set(ofEvent.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
    }
  } finally {
    await publisher.close();
    await gateway.close();
    await replica.close();
    await closeRedis(conn);
    await telemetry.shutdown();
  }
});

test('events of one `events` batch job (two runs, emitted in one tick): each event has its own commit span in its own trace', async () => {
  const prefix = `trace-${randomUUID().slice(0, 8)}`;
  const config: AppConfig = loadConfig({
    env: {},
    overrides: { REDIS_URL: redis!.url, AB_KEY_PREFIX: prefix, AB_INSTANCE_ID: `${prefix}-node`, PORT: 0 },
  });
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter });
  const telemetry = startTelemetry({
    config,
    serviceName: 'trace-batch',
    spanProcessors: [processor],
    metricReaders: [],
  });
  const replica = createReplica(config, silentLogger());
  const publisher = await AgentPublisher.create({ config });
  const conn = createRedis(config, 'command');
  try {
    await replica.start();
    const a = await publisher.startRun({ userId: 'alice', agent: 'tracer' });
    const b = await publisher.startRun({ userId: 'bob', agent: 'tracer' });
    const emitted = await Promise.all([
      a.started({ q: 'one' }),
      b.started({ q: 'two' }),
      a.thinking('x'),
      b.thinking('y'),
    ]);
    const keys = keyLayout(prefix);
    await waitFor('both runs committed', async () => {
      const heads = await Promise.all([a, b].map((h) => conn.hget(keys.runMeta(h.runId), 'headSeq')));
      return heads.every((x) => x === '2');
    });
    await processor.forceFlush();
    const spans = exporter.getFinishedSpans();
    const producers = spans.filter(
      (s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.system'] === 'bullmq',
    );
    expect(producers).toHaveLength(4);
    for (const { id } of emitted) {
      const ofEvent = spans.filter((s) => s.attributes['messaging.message.id'] === id);
      const producer = one(ofEvent, (s) => s.kind === SpanKind.PRODUCER);
      const consumer = one(ofEvent, (s) => s.kind === SpanKind.CONSUMER);
      expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
      expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
      expect(consumer.attributes['agent_bridge.outcome']).toBe('committed');
    }
  } finally {
    await publisher.close();
    await replica.close();
    await closeRedis(conn);
    await telemetry.shutdown();
  }
});

function one(spans: ReadableSpan[], pick: (s: ReadableSpan) => boolean): ReadableSpan {
  const found = spans.filter(pick);
  if (found.length !== 1) {
    throw new Error(`expected exactly one span, got ${found.length}: ${found.map((s) => s.name).join(', ')}`);
  }
  return found[0]!;
}
