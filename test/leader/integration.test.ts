import { randomUUID } from 'node:crypto';
import type { PublishedState, StateTransition } from '@agent-bridge/protocol';
import { keyLayout } from '@agent-bridge/protocol';
import { IntegrationService, LeaderElector, RedlockLeaseClient } from '@agent-bridge/bridge';
import type { RecoveryLogEntry } from '@agent-bridge/control-plane';
import { silentLogger } from '@agent-bridge/telemetry';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { loadConfig } from '@agent-bridge/config';
import { killAllServices, useRedis, waitFor } from '@agent-bridge/testing';
import { startBridges, startGateway, waitForSingleLeader } from './harness';

jest.setTimeout(180_000);

afterEach(killAllServices);
// Services first: they are stopped before the fixture's afterAll closes the connection and the server.
afterAll(killAllServices);
const redis = useRedis((url) => createRedis(loadConfig({ env: { REDIS_URL: url } }), 'command'), closeRedis);

async function published(prefix: string): Promise<PublishedState | null> {
  const raw = await redis.conn.get(keyLayout(prefix).integrationState);
  return raw === null ? null : (JSON.parse(raw) as PublishedState);
}

describe('ensureIntegration / recovery (real bridge and gateway processes)', () => {
  it('guarantee 3.3 — ten concurrent ensureIntegration() calls on a standby share one attempt, run once by the leader', async () => {
    const prefix = `t-${randomUUID()}`;
    const env = { REDIS_URL: redis.server.url, AB_KEY_PREFIX: prefix, AB_HEALTH_PROBE_LATENCY_WARN_MS: '10000' };
    const bridges = await startBridges(1, env);
    await startGateway('gw1', env);
    const { bridge: leader } = await waitForSingleLeader(bridges);
    await waitFor('ACTIVE', async () => (await published(prefix))?.state === 'ACTIVE', { timeoutMs: 30_000 });

    // A standby in this process (its elector is never started, so it never leads).
    const config = loadConfig({ env: { ...env, AB_INSTANCE_ID: 'standby-in-test' } });
    const keys = keyLayout(prefix);
    const command = createRedis(config, 'command');
    const subscriber = createRedis(config, 'subscriber');
    const worker = createRedis(config, 'worker');
    const elector = new LeaderElector({
      id: 'standby-in-test',
      keys,
      connection: command,
      subscriber,
      lease: new RedlockLeaseClient({ clients: [command], sharesDataRedis: true }),
      leaseTtlMs: 1_000,
      extendBeforeMs: 500,
      retryDelayMs: 100,
      retryJitterMs: 0,
      logger: silentLogger(),
    });
    const standby = new IntegrationService({
      config,
      keys,
      id: 'standby-in-test',
      connection: command,
      subscriber,
      workerConnection: worker,
      elector,
      logger: silentLogger(),
    });
    try {
      await standby.start();
      const before = (await leader.status()).ensureAttempts;
      const results = await Promise.all(Array.from({ length: 10 }, () => standby.ensureIntegration()));
      expect(new Set(results.map((r) => r.attemptId)).size).toBe(1);
      expect(results.every((r) => r.ok && r.state === 'ACTIVE' && r.leaderId === leader.id)).toBe(true);
      expect((await leader.status()).ensureAttempts).toBe(before + 1);
      expect(standby.getStatus().ensureAttempts).toBe(0);
      const probe = results[0]?.checks.find((c) => c.name === 'probe');
      expect(probe).toMatchObject({ ok: true, severity: 'ok' });
      expect(probe?.detail).toMatch(/^1 gateways answered/);
    } finally {
      await standby.close();
      await elector.close();
      await Promise.all([command, subscriber, worker].map(closeRedis));
    }
  });

  it('no gateway alive → FAILED → recovery job retries with growing delays → gateway started → ACTIVE', async () => {
    const prefix = `t-${randomUUID()}`;
    const keys = keyLayout(prefix);
    const env = {
      REDIS_URL: redis.server.url,
      AB_KEY_PREFIX: prefix,
      AB_HEALTH_PROBE_LATENCY_WARN_MS: '10000',
      // The periodic health check must not be what heals it: the recovery job is.
      AB_HEALTH_INTERVAL_MS: '600000',
      // No start-up grace: without a gateway the first check must say FAILED at once.
      AB_HEALTH_STARTUP_GRACE_MS: '0',
      AB_RECOVERY_BACKOFF_MS: '400',
      AB_RECOVERY_JITTER: '0.25',
      AB_RECOVERY_ATTEMPTS: '10',
    };
    const bridges = await startBridges(1, env);
    await waitForSingleLeader(bridges);
    await waitFor('FAILED', async () => (await published(prefix))?.state === 'FAILED');
    const failed = await published(prefix);
    expect(failed?.failingChecks.map((c) => c.name).sort()).toEqual(['gateways', 'probe']);

    const log = async (): Promise<RecoveryLogEntry[]> =>
      (await redis.conn.lrange(keys.recoveryLog, 0, '-1')).map((r) => JSON.parse(r) as RecoveryLogEntry).reverse();
    await waitFor('three failed recovery attempts', async () => (await log()).length >= 3, { timeoutMs: 30_000 });
    await startGateway('gw1', env);
    await waitFor('ACTIVE', async () => (await published(prefix))?.state === 'ACTIVE', { timeoutMs: 60_000 });

    const entries = await log();
    const last = entries[entries.length - 1];
    expect(last?.outcome).toBe('recovered');
    expect(entries.slice(0, -1).every((e) => e.outcome === 'still-failing')).toBe(true);
    expect(new Set(entries.map((e) => e.jobId))).toEqual(new Set([`recover-failed-${failed!.since}`]));
    expect(entries.map((e) => e.attempt)).toEqual(entries.map((_, i) => i + 1));
    const gaps = entries.slice(1).map((e, i) => e.at - (entries[i]?.at ?? 0));
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeGreaterThan(gaps[i - 1] ?? Infinity);

    const history = (await redis.conn.lrange(keys.integrationHistory, 0, '-1')).map(
      (r) => JSON.parse(r) as StateTransition,
    );
    expect(history[0]).toMatchObject({ from: 'FAILED', to: 'ACTIVE' });
    expect(history[0]?.reason).toMatch(new RegExp(`^recovery recover-failed-\\d+ attempt ${entries.length} `));
  });
});
