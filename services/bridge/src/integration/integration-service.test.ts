import { randomUUID } from 'node:crypto';
import { loadConfig } from '@agent-bridge/config';
import { keyLayout } from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { silentLogger } from '@agent-bridge/telemetry';
import { type RedisServer, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import { LeaderElector } from '../leader/leader-elector';
import { RedlockLeaseClient } from '../leader/lease-client';
import { IntegrationService } from './integration-service';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis();
});
afterAll(destroyAllRedis);

describe('IntegrationService on the leader (in process, real Redis)', () => {
  it('guarantee 3.3 — ten concurrent ensureIntegration() calls share one attempt; without gateways it is FAILED and says why', async () => {
    const prefix = `t-${randomUUID()}`;
    const config = loadConfig({
      env: {
        REDIS_URL: server.url,
        AB_KEY_PREFIX: prefix,
        AB_HEALTH_INTERVAL_MS: '600000',
        // No start-up grace: the takeover check decides at once (test/leader/cold-start.test.ts covers the grace).
        AB_HEALTH_STARTUP_GRACE_MS: '0',
        AB_RECOVERY_BACKOFF_MS: '600000',
        AB_RECOVERY_BACKOFF_MAX_MS: '600000',
      },
    });
    const keys = keyLayout(prefix);
    const conns: RedisConnection[] = [
      createRedis(config, 'command'),
      createRedis(config, 'subscriber'),
      createRedis(config, 'worker'),
    ];
    const [command, subscriber, worker] = conns as [RedisConnection, RedisConnection, RedisConnection];
    const elector = new LeaderElector({
      id: 'solo',
      keys,
      connection: command,
      subscriber,
      lease: new RedlockLeaseClient({ clients: [command], sharesDataRedis: true }),
      leaseTtlMs: 2_000,
      extendBeforeMs: 1_000,
      retryDelayMs: 100,
      retryJitterMs: 0,
      logger: silentLogger(),
    });
    const service = new IntegrationService({
      config,
      keys,
      id: 'solo',
      connection: command,
      subscriber,
      workerConnection: worker,
      elector,
      logger: silentLogger(),
    });
    const duties = service.duties();
    elector.addDuty('integration-health', duties.health);
    elector.addDuty('recovery-worker', duties.recovery);
    try {
      await service.start();
      await elector.start();
      const ctx = await elector.waitForLeadership(5_000);
      // The takeover ensure finds FAILED and schedules a recovery job, whose first attempt runs at once
      // (the next one only after a long backoff).
      await waitFor('first recovery attempt logged', async () => (await service.reader.recoveries()).length === 1);
      const before = service.getStatus().ensureAttempts;
      expect(before).toBe(2);
      const results = await Promise.all(Array.from({ length: 10 }, () => service.ensureIntegration()));
      expect(new Set(results.map((r) => r.attemptId))).toEqual(new Set([`solo-e${ctx.epoch}-3`]));
      expect(service.getStatus().ensureAttempts).toBe(3);
      const r = results[0];
      expect(r).toMatchObject({ ok: false, state: 'FAILED', leaderId: 'solo', epoch: ctx.epoch });
      const bad = r?.checks.filter((c) => c.severity !== 'ok').map((c) => `${c.name}:${c.severity}`);
      // No event workers run in this test and no gateway exists.
      expect(bad).toEqual(['replicas:fail', 'gateways:fail', 'probe:fail']);
      const history = await service.reader.history(10);
      expect(history.map((t) => `${t.from}>${t.to}`)).toEqual(['INITIALIZING>FAILED', 'UNINITIALIZED>INITIALIZING']);
      // FAILED scheduled exactly one recovery job for the incident.
      const again = await service.recoverIntegration('test');
      expect(again.enqueued).toBe(false);
      expect(again.jobId).toMatch(/^recover-failed-\d+$/);
    } finally {
      await elector.close();
      await service.close();
      await Promise.all(conns.map(closeRedis));
    }
  });
});
