// A running service process exports its spans and metrics over OTLP/HTTP to a real receiver (a tiny HTTP
// server started by the test), configured only by the standard OTEL_* variables; telemetry cannot crash it
// when nothing listens at the endpoint; and one event's spans from three processes (agent, bridge,
// gateway) arrive at the receiver in one trace — the context crossed process boundaries in the job.
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type SubscribeAck, keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis, registerRun } from '@agent-bridge/redis';
import { type RedisServer, ServiceProcess, freePort, startRedis, waitFor } from '@agent-bridge/testing';
import { io as ioClient } from 'socket.io-client';
import { E2ECluster, tokenFor } from '../e2e/harness';

const OPS_MAIN = join(__dirname, '..', '..', 'services', 'ops', 'src', 'main.ts');
const AUTH = { authorization: `Basic ${Buffer.from('ops:otlp-test-password').toString('base64')}` };

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpResource {
  attributes: OtlpAttribute[];
}
interface Received {
  path: string;
  contentType: string;
  body: {
    resourceSpans?: {
      resource: OtlpResource;
      scopeSpans: {
        spans: {
          name: string;
          kind: number;
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          attributes: OtlpAttribute[];
        }[];
      }[];
    }[];
    resourceMetrics?: { resource: OtlpResource; scopeMetrics: { metrics: { name: string }[] }[] }[];
  };
}

function attr(resource: OtlpResource, key: string): string | undefined {
  return resource.attributes.find((a) => a.key === key)?.value.stringValue;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

let redis: RedisServer | undefined;
let receiver: Server | undefined;
let receiverPort: number;
const received: Received[] = [];

beforeAll(async () => {
  redis = await startRedis();
  receiver = createServer((req, res) => {
    void readBody(req).then((text) => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: JSON.parse(text) as Received['body'],
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
  receiverPort = (receiver.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
  await redis?.destroy();
});

function opsEnv(endpoint: string, instanceId: string): Record<string, string> {
  return {
    REDIS_URL: redis!.url,
    AB_KEY_PREFIX: `otlp${randomUUID().slice(0, 6)}`,
    AB_INSTANCE_ID: instanceId,
    AB_OPS_PASSWORD: 'otlp-test-password',
    AB_OPS_REFRESH_MS: '200',
    PORT: '0',
    LOG_LEVEL: 'info',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
  };
}

describe('telemetry export from a running service', () => {
  test('a real OTLP/HTTP receiver gets spans and metrics of the ops service, with service.name and service.instance.id', async () => {
    const instanceId = `ops-${randomUUID().slice(0, 6)}`;
    const ops = ServiceProcess.start({
      entry: OPS_MAIN,
      name: 'ops',
      env: opsEnv(`http://127.0.0.1:${receiverPort}`, instanceId),
    });
    try {
      const port = Number((await ops.waitForOutput(/ops ready on port (\d+)/))[1]);
      const res = await fetch(`http://127.0.0.1:${port}/api/status`, { headers: AUTH });
      expect(res.status).toBe(200);

      const spans = await waitFor('an ops.status span at /v1/traces', () => {
        const found = received
          .filter((r) => r.path === '/v1/traces')
          .flatMap((r) => r.body.resourceSpans ?? [])
          .filter((rs) => attr(rs.resource, 'service.instance.id') === instanceId)
          .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ ...s, resource: rs.resource }))))
          .filter((s) => s.name === 'ops.status');
        return found.length > 0 ? found : null;
      });
      expect(attr(spans[0]!.resource, 'service.name')).toBe('agent-bridge-ops');
      expect(spans[0]!.traceId).toMatch(/^[0-9a-f]{32}$/);

      const metricNames = await waitFor('queue metrics at /v1/metrics', () => {
        const names = new Set(
          received
            .filter((r) => r.path === '/v1/metrics')
            .flatMap((r) => r.body.resourceMetrics ?? [])
            .filter((rm) => attr(rm.resource, 'service.instance.id') === instanceId)
            .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name))),
        );
        return names.has('agent_bridge.queue.depth') && names.has('agent_bridge.queue.lag_ms') ? names : null;
      });
      expect(metricNames.has('agent_bridge.members.alive')).toBe(true);
      expect(received.find((r) => r.path === '/v1/traces')?.contentType).toContain('application/json');
    } finally {
      const exit = await ops.terminate();
      expect(exit).toEqual({ code: 0, signal: null });
    }
  });

  test('telemetry never crashes the service: nothing listens at the OTLP endpoint, it serves and shuts down cleanly', async () => {
    const deadPort = await freePort();
    const ops = ServiceProcess.start({
      entry: OPS_MAIN,
      name: 'ops-no-collector',
      env: opsEnv(`http://127.0.0.1:${deadPort}`, 'ops-no-collector'),
    });
    try {
      const port = Number((await ops.waitForOutput(/ops ready on port (\d+)/))[1]);
      for (let i = 0; i < 3; i++) {
        expect((await fetch(`http://127.0.0.1:${port}/api/status`, { headers: AUTH })).status).toBe(200);
      }
      // Give the exporters time to fail a few times.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(ops.running).toBe(true);
    } finally {
      expect(await ops.terminate()).toEqual({ code: 0, signal: null });
    }
  });

  test('one event, one trace across three processes: agent -> bridge -> gateway, each exporting over OTLP to the receiver', async () => {
    const endpoint = `http://127.0.0.1:${receiverPort}`;
    const otlp = {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    const cluster = await E2ECluster.start({ bridges: 1, gateways: 1, env: otlp });
    const conn = createRedis(cluster.config, 'command');
    const socket = ioClient(cluster.gateways[0]!.url, {
      auth: { token: await tokenFor(cluster, 'alice') },
      transports: ['websocket'],
    });
    try {
      // The run is registered first so the client can subscribe before the agent process emits into it.
      const runId = `run-otlp-${randomUUID().slice(0, 8)}`;
      await registerRun(conn, keyLayout(cluster.prefix), { runId, owner: 'alice', agent: 'otlp' });
      const live: string[] = [];
      socket.on('agent_event', (e: { id: string }) => live.push(e.id));
      const ack = (await socket.timeout(10_000).emitWithAck('subscribe', { runId })) as SubscribeAck;
      expect(ack.ok).toBe(true);
      const agent = ServiceProcess.start({
        entry: join(__dirname, 'agent-emit.ts'),
        name: 'agent',
        env: { ...cluster.env, RUN_ID: runId, USER_ID: 'alice', AB_INSTANCE_ID: `${cluster.prefix}-agent` },
      });
      const id = (await agent.waitForOutput(/emitted (\S+)/, 60_000))[1]!;
      expect(await agent.exited).toEqual({ code: 0, signal: null });
      await waitFor('the live event', () => live.includes(id), { timeoutMs: 30_000 });

      const spansOf = () =>
        received
          .filter((r) => r.path === '/v1/traces')
          .flatMap((r) => r.body.resourceSpans ?? [])
          .flatMap((rs) =>
            rs.scopeSpans.flatMap((ss) =>
              ss.spans.map((sp) => ({ service: attr(rs.resource, 'service.name'), ...sp })),
            ),
          )
          .filter((sp) => sp.attributes.some((a) => a.key === 'messaging.message.id' && a.value.stringValue === id));
      const spans = await waitFor('spans of the event from all three processes', () => {
        const found = spansOf();
        const services = new Set(found.map((sp) => sp.service));
        return services.has('e2e-agent') && services.has('agent-bridge-bridge') && services.has('agent-bridge-gateway')
          ? found
          : null;
      });
      const producer = spans.find((sp) => sp.service === 'e2e-agent')!;
      const consumer = spans.find((sp) => sp.service === 'agent-bridge-bridge')!;
      const delivery = spans.find((sp) => sp.service === 'agent-bridge-gateway')!;
      // OTLP span kinds: 4 = PRODUCER, 5 = CONSUMER.
      expect([producer.kind, consumer.kind, delivery.kind]).toEqual([4, 5, 4]);
      expect(new Set(spans.map((sp) => sp.traceId))).toEqual(new Set([producer.traceId]));
      expect(consumer.parentSpanId).toBe(producer.spanId);
    } finally {
      socket.close();
      await closeRedis(conn);
      await cluster.stop();
    }
  });
});
