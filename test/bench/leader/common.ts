/** Pieces shared by the sections of `npm run bench:leader` (test/bench/leader.ts). */
import { join } from 'node:path';
import { type PublishedState, keyLayout } from '@agent-bridge/protocol';
import { ServiceProcess, freePort } from '@agent-bridge/testing';
import type { Redis } from 'ioredis';

const root = join(__dirname, '..', '..', '..');

/** Starts a bridge or gateway with default settings (plus `extra`) and waits until it is ready. */
export async function startService(
  role: 'bridge' | 'gateway',
  name: string,
  extra: Record<string, string>,
): Promise<ServiceProcess> {
  const p = ServiceProcess.start({
    entry: join(root, 'services', role, 'src', 'main.ts'),
    name,
    env: {
      ...extra,
      AB_INSTANCE_ID: name,
      PORT: String(await freePort()),
      AB_GATEWAY_CHAT_PAGE: 'false',
      LOG_LEVEL: 'info',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
    },
  });
  await p.waitForOutput(new RegExp(`${role} ready`), 120_000);
  return p;
}

/** The integration state the leader published under `prefix`, or null. */
export async function publishedState(redis: Redis, prefix: string): Promise<PublishedState | null> {
  return JSON.parse((await redis.get(keyLayout(prefix).integrationState)) ?? 'null') as PublishedState | null;
}

/** Median, min and max of a sample, in ms. */
export function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
  return `median ${Math.round(median ?? NaN)} ms, min ${s[0]!} ms, max ${s[s.length - 1]!} ms (n=${s.length})`;
}
