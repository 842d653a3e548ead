/**
 * Pause after a replica SIGKILL: 2 bridges (default settings) route the events of 20 runs that emit
 * continuously (~200 events/s). A bridge is frozen (SIGSTOP) the moment it holds event jobs whose events
 * are not committed yet, then SIGKILLed; the pause of the trial is the time from the freeze until every run
 * it held has committed those events (they wait for the job locks to expire, a stalled-job check, and the
 * other bridge to take the jobs). The bridge is started again (under a new name) for the next trial.
 */
import { randomUUID } from 'node:crypto';
import { type EventEnvelope, type KeyLayout, keyLayout } from '@agent-bridge/protocol';
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { loadConfig } from '@agent-bridge/config';
import { type RedisServer, type ServiceProcess, killAllServices, sleep, waitFor } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { startService, stats } from './common';

// A load one bridge carries on the 2-core dev VM (a cluster must keep that headroom to lose a replica);
// above it the survivor's own backlog, not the stall, sets the pause.
const RUNS = 20;

/** The highest seq per run in a job of the events queue (an `event` job or an `events` batch). */
function heldSeqs(data: unknown, into: Map<string, number>): void {
  // A job's data as stored: neither shape is checked, so each field is tested before use.
  const batch = (data as { events?: unknown } | null)?.events;
  for (const e of (Array.isArray(batch) ? batch : [data]) as (Partial<EventEnvelope> | null)[]) {
    if (typeof e?.runId === 'string' && typeof e.seq === 'number') {
      into.set(e.runId, Math.max(into.get(e.runId) ?? 0, e.seq));
    }
  }
}

/** Per run, the highest seq in the jobs `worker` holds that its run has not committed yet; and those jobs. */
async function uncommittedHeld(
  queue: Queue,
  redis: Redis,
  keys: KeyLayout,
  worker: string,
): Promise<{ held: Map<string, number>; jobs: string[] }> {
  const held = new Map<string, number>();
  const jobs: string[] = [];
  for (const job of await queue.getActive()) {
    if (job.processedBy !== worker) continue;
    const mine = new Map<string, number>();
    heldSeqs(job.data, mine);
    for (const [runId, seq] of mine) {
      if (Number((await redis.hget(keys.runMeta(runId), 'headSeq')) ?? 0) >= seq) mine.delete(runId);
    }
    if (mine.size > 0) jobs.push(job.id!);
    for (const [runId, seq] of mine) held.set(runId, Math.max(held.get(runId) ?? 0, seq));
  }
  return { held, jobs };
}

/** Prints median and max of the pause over `trials` SIGKILLs of a replica holding jobs. */
export async function replicaKill(data: RedisServer, redis: Redis, trials: number): Promise<void> {
  const prefix = `bench-${randomUUID()}`;
  const keys = keyLayout(prefix);
  const common = { REDIS_URL: data.url, AB_KEY_PREFIX: prefix };
  const config = loadConfig({ env: { ...common, AB_THINKING_COALESCE_MS: '0' } });
  const bridges: ServiceProcess[] = await Promise.all([
    startService('bridge', 'kb0', common),
    startService('bridge', 'kb1', common),
  ]);
  const publisher = await AgentPublisher.create({ config });
  // BullMQ never closes a connection it is given: this one is closed below.
  const queueConnection = redis.duplicate();
  const queue = new Queue(config.queues.events, { connection: queueConnection, prefix: keys.bullPrefix });
  let producing = true;
  const runs = await Promise.all(
    Array.from({ length: RUNS }, (_, i) => publisher.startRun({ userId: `u${i % 5}`, agent: 'bench' })),
  );
  const producers = runs.map(async (run) => {
    while (producing) {
      await run.thinking('token ');
      // About 10 events/s per run (a model streaming tokens), ~200 events/s in all.
      await sleep(80 + Math.random() * 40);
    }
    await run.complete({ done: true });
  });
  const pauses: number[] = [];
  let spawned = 2;
  try {
    for (let t = 0; t < trials; t++) {
      const slot = t % 2;
      const victim = bridges[slot]!;
      await sleep(1_000 + Math.random() * 1_000);
      // Freeze it while it holds jobs whose events are not committed yet, then SIGKILL it; the pause is
      // counted from the freeze (it stopped working then).
      let held = new Map<string, number>();
      let jobs: string[] = [];
      let stoppedAt = 0;
      while (held.size === 0) {
        await waitFor(
          `${victim.name} holding jobs`,
          async () => (await queue.getActive()).some((j) => j.processedBy === victim.name),
          { intervalMs: 1, timeoutMs: 60_000 },
        );
        victim.signal('SIGSTOP');
        stoppedAt = Date.now();
        ({ held, jobs } = await uncommittedHeld(queue, redis, keys, victim.name));
        if (held.size === 0) victim.signal('SIGCONT');
      }
      await victim.kill();
      const backlog = await queue.getWaitingCount();
      let retakenAt = 0;
      await waitFor(
        'held events committed',
        async () => {
          if (!retakenAt) {
            const now = await Promise.all(jobs.map((id) => queue.getJob(id)));
            if (now.every((j) => !j || j.finishedOn || j.processedBy !== victim.name)) retakenAt = Date.now();
          }
          const heads = await Promise.all([...held.keys()].map((r) => redis.hget(keys.runMeta(r), 'headSeq')));
          return [...held.values()].every((seq, i) => Number(heads[i] ?? 0) >= seq);
        },
        { intervalMs: 5, timeoutMs: 60_000 },
      );
      pauses.push(Date.now() - stoppedAt);
      process.stderr.write(
        `${pauses.at(-1)!} ms (${held.size} runs, jobs taken again at ${(retakenAt || Date.now()) - stoppedAt} ms, ` +
          `${backlog} waiting)\n`,
      );
      bridges[slot] = await startService('bridge', `kb${spawned++}`, common);
    }
  } finally {
    producing = false;
    await Promise.allSettled(producers);
    await publisher.close();
    await queue.close();
    queueConnection.disconnect();
    await killAllServices();
  }
  console.log(
    `pause after a replica SIGKILL (2 bridges, ${RUNS} runs emitting ~10 events/s each; SIGKILL to the held events committed), ` +
      `default settings: ${stats(pauses)}`,
  );
}
