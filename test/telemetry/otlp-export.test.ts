// A running service process exports its spans and metrics over OTLP/HTTP to a real receiver (a tiny HTTP
// server started by the test), configured only by the standard OTEL_* variables; and telemetry cannot
// crash it when nothing listens at the endpoint.
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type RedisServer, ServiceProcess, freePort, startRedis, waitFor } from '@agent-bridge/testing';

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
      scopeSpans: { spans: { name: string; kind: number; traceId: string }[] }[];
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

let redis: RedisServer;
let receiver: Server;
let receiverPort: number;
const received: Received[] = [];

beforeAll(async () => {
  redis = await startRedis();
  receiver = createServer((req, res) => {
    void readBody(req).then((text) => {
      received.push({
        path: req.url ?? '',
        contentType: String(req.headers['content-type'] ?? ''),
        body: JSON.parse(text) as Received['body'],
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverPort = (receiver.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
  await redis?.destroy();
});

function opsEnv(endpoint: string, instanceId: string): Record<string, string> {
  return {
    REDIS_URL: redis.url,
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
});
