import { type EmittedEvent, AgentPublisher } from '@agent-bridge/agent-sdk';
import { readHistory, registerRun } from '@agent-bridge/redis';
import { type RedisServer, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import { Harness, makeEvent } from './test-harness';

afterAll(destroyAllRedis);

describe('routing through Redis faults', () => {
  let server: RedisServer;
  let h: Harness;
  beforeAll(async () => {
    server = await startRedis({ appendOnly: true });
  });
  afterEach(Harness.closeAll);

  it('guarantee 1.6: a Redis restart (AOF on) mid-stream loses nothing, duplicates nothing and keeps the history epoch', async () => {
    // Each awaited thinking() is its own event here (ids compared one to one): no coalescing.
    h = await Harness.create({ redisEnv: { REDIS_URL: server.url, AB_THINKING_COALESCE_MS: '0' } });
    await h.startRouter();
    const publisher = await AgentPublisher.create({ config: h.config });
    try {
      const runs = await Promise.all(
        Array.from({ length: 20 }, (_, i) => publisher.startRun({ userId: 'u', agent: 'a', runId: `aof-${i}` })),
      );
      const emitted = new Map<string, EmittedEvent[]>(runs.map((r) => [r.runId, []]));
      const emitSome = (from: number, to: number) =>
        Promise.all(
          runs.map(async (run) => {
            for (let s = from; s <= to; s++) emitted.get(run.runId)?.push(await run.thinking(`${s}`));
          }),
        );
      await emitSome(1, 10);
      await waitFor('first half committed', async () => (await h.headSeq('aof-19')) === 10);
      const epochBefore = new Map<string, number>();
      for (const run of runs) epochBefore.set(run.runId, (await readHistory(h.conn, h.keys, run.runId, 0, 1)).epoch);
      const second = emitSome(11, 25);
      await server.restart();
      await second;
      await waitFor(
        'all committed',
        async () => (await Promise.all(runs.map((r) => h.headSeq(r.runId)))).every((x) => x === 25),
        { timeoutMs: 60_000 },
      );
      for (const run of runs) {
        const page = await readHistory(h.conn, h.keys, run.runId, 0, 100);
        expect(page.events.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
        expect(page.events.map((e) => e.id)).toEqual(emitted.get(run.runId)?.map((e) => e.id));
        expect(page.epoch).toBe(epochBefore.get(run.runId));
        expect(page.epoch).toBeGreaterThan(0);
        expect(new Set(page.events.map((e) => e.epoch))).toEqual(new Set([page.epoch]));
      }
    } finally {
      await publisher.close();
    }
  });

  it('guarantee 1.7: a history lost with Redis data starts again under a new epoch', async () => {
    h = await Harness.create({ redisEnv: { REDIS_URL: server.url } });
    const first = await h.commit(makeEvent('lost', 1));
    await new Promise((r) => setTimeout(r, 5));
    await h.conn.del(h.keys.runMeta('lost'), h.keys.runHistory('lost'), h.keys.runPending('lost'));
    // Its producer registers it again (the registration went with the data).
    await registerRun(h.conn, h.keys, { runId: 'lost', owner: 'alice', status: 'running' });
    const again = await h.commit(makeEvent('lost', 1));
    expect(again.events[0]?.outcome).toBe('committed');
    expect(again.epoch).toBeGreaterThan(first.epoch);
    expect((await readHistory(h.conn, h.keys, 'lost', 0, 10)).events[0]?.epoch).toBe(again.epoch);
  });
});
