import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ServiceName, loadConfig } from '@agent-bridge/config';
import { ConfigError } from '@agent-bridge/protocol';

const ROOT = join(__dirname, '..', '..');

/** The image's NODE_ENV (infra/Dockerfile `ENV NODE_ENV=...`): every service runs in that mode. */
export function imageNodeEnv(): string {
  const m = /^ENV NODE_ENV=(\S+)$/m.exec(readFileSync(join(ROOT, 'infra', 'Dockerfile'), 'utf8'));
  return m?.[1] ?? '';
}

/** The agent-bridge service a compose service or Deployment runs (`bridge-2` → bridge), or null. */
export function serviceOf(name: string): ServiceName | null {
  const base = name.replace(/-\d+$/, '');
  if (base === 'bridge' || base === 'gateway' || base === 'ops') return base;
  return base === 'demo-agent' ? 'agent' : null;
}

/** The keys production mode refuses for `service` with `env` (empty: it would start). */
export function refusedKeys(env: Record<string, string>, service: ServiceName): string[] {
  try {
    loadConfig({ env, service });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.key).sort();
    throw err;
  }
}
