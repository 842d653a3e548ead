// A one-shot agent process for the cross-process trace test: starts telemetry (OTLP, from the OTEL_*
// environment), emits one event into RUN_ID for USER_ID through the agent SDK, flushes and exits.
// (The OTLP/HTTP exporter loads its HTTP agent with a dynamic import, which Jest's module system refuses,
// so the exporting agent has to be a real process.)
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { loadConfig } from '@agent-bridge/config';
import { startTelemetry } from '@agent-bridge/telemetry';

async function main(): Promise<void> {
  const config = loadConfig();
  const telemetry = startTelemetry({ config, serviceName: 'e2e-agent' });
  const publisher = await AgentPublisher.create({ config });
  const run = await publisher.startRun({
    runId: process.env['RUN_ID'] ?? '',
    userId: process.env['USER_ID'] ?? '',
    agent: 'otlp',
  });
  const { id } = await run.thinking('across processes');
  await publisher.close();
  await telemetry.shutdown();
  process.stdout.write(`emitted ${id}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`agent-emit failed: ${String(err)}\n`);
  process.exit(1);
});
