import { type DeadLetterRecord, type EventEnvelope } from '@agent-bridge/protocol';
import { readHistory } from '@agent-bridge/redis';
import { destroyAllRedis, sleep, waitFor } from '@agent-bridge/testing';
import { sweepGaps } from './index';
import { type Harness, jobOf, makeEvent, shuffle, standaloneRedisHarness } from './test-harness';

// The event router's pipeline on a standalone Redis: order, idempotency, reorder buffer, dead letters, gap
// sweep, lifecycle. event-router.pubsub.test.ts covers delivery through the Socket.IO adapter and Cluster.

afterAll(destroyAllRedis);

async function historyOf(h: Harness, runId: string): Promise<EventEnvelope[]> {
  return (await readHistory(h.conn, h.keys, runId, 0, 100_000)).events;
}

async function deadLetters(h: Harness): Promise<DeadLetterRecord[]> {
  const jobs = await h.dlq.getJobs(['waiting', 'delayed', 'completed']);
  return jobs.map((j) => j.data as DeadLetterRecord);
}

describe('EventRouter (standalone Redis)', () => {
  const { harness } = standaloneRedisHarness();
  let h: Harness;

  it('guarantee 1.1: per-run seq order, each event committed exactly once, with concurrency 8 and shuffled enqueue', async () => {
    h = await harness();
    const runs = Array.from({ length: 20 }, (_, i) => `run-${i}`);
    const events = runs.flatMap((runId) => Array.from({ length: 30 }, (_, s) => makeEvent(runId, s + 1)));
    await h.queue.addBulk(shuffle(events).map(jobOf));
    await h.startRouter();
    await waitFor('all runs committed', async () => {
      const heads = await Promise.all(runs.map((r) => h.headSeq(r)));
      return heads.every((x) => x === 30);
    });
    for (const runId of runs) {
      const history = await historyOf(h, runId);
      expect(history.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(history.map((e) => e.id)).toEqual(Array.from({ length: 30 }, (_, i) => `e-${runId}-${i + 1}`));
      const epochs = new Set(history.map((e) => e.epoch));
      expect(epochs.size).toBe(1);
      expect([...epochs][0]).toBeGreaterThan(1_600_000_000_000);
      expect(history[4]).toEqual({ ...makeEvent(runId, 5), epoch: history[0]?.epoch });
    }
    await waitFor('all published', () => runs.every((r) => h.publishedSeqs(r).length === 30));
    for (const runId of runs) {
      const history = await historyOf(h, runId);
      const pub = h.published.get(runId) ?? [];
      // No retries happened: each committed event was published exactly once, in seq order (the commit
      // script publishes, so live order is commit order even with 8 jobs of a run in flight at once).
      expect(pub.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(pub).toEqual(history);
    }
    const status = h.routers[0]?.getStatus();
    expect(status).toMatchObject({ state: 'running', committed: 600, deadLettered: 0, duplicates: 0 });
    expect(await h.conn.hget(h.keys.runMeta('run-0'), 'status')).toBe('running');
  });

  it('guarantee 3.2: a duplicate job (same event id and seq) is a no-op that re-publishes the committed envelope', async () => {
    h = await harness();
    const e1 = makeEvent('dup', 1);
    const e2 = makeEvent('dup', 2);
    const e3 = makeEvent('dup', 3);
    await h.startRouter();
    await h.queue.add('event', e1, { jobId: e1.id });
    await h.queue.add('event', e3, { jobId: e3.id });
    await waitFor('seq 3 buffered', async () => (await h.conn.hlen(h.keys.runPending('dup'))) === 1);
    // The same events again under other job ids (a producer retry after its job was removed).
    await h.queue.add('event', e1, { jobId: `${e1.id}-again` });
    await h.queue.add('event', e3, { jobId: `${e3.id}-again` });
    await waitFor('duplicates seen', () => (h.routers[0]?.getStatus().duplicates ?? 0) >= 2);
    await h.queue.add('event', e2, { jobId: e2.id });
    await waitFor('head 3', async () => (await h.headSeq('dup')) === 3);
    const history = await historyOf(h, 'dup');
    expect(history.map((e) => [e.seq, e.id])).toEqual([
      [1, e1.id],
      [2, e2.id],
      [3, e3.id],
    ]);
    await waitFor('published', () => h.publishedSeqs('dup').length === 3);
    const pub = h.published.get('dup') ?? [];
    // seq 1 twice (first commit + re-publish of the duplicate), identical envelopes; seq 3 once (its
    // duplicate arrived while it was buffered, so nothing was published for it).
    expect(pub.filter((e) => e.seq === 1)).toEqual([history[0], history[0]]);
    expect(pub.filter((e) => e.seq === 3)).toEqual([history[2]]);
    expect(h.routers[0]?.getStatus()).toMatchObject({ duplicates: 2, committed: 3, deadLettered: 0 });
  });

  it('guarantee 1.1: early arrivals wait in the reorder buffer and are released in order when the gap fills', async () => {
    h = await harness();
    await h.startRouter();
    for (const seq of [4, 2, 3]) await h.queue.add('event', makeEvent('early', seq), { jobId: `e-early-${seq}` });
    await waitFor('3 buffered', async () => (await h.conn.hlen(h.keys.runPending('early'))) === 3);
    expect(await h.headSeq('early')).toBe(0);
    expect(h.published.get('early')).toBeUndefined();
    expect(await h.conn.zscore(h.keys.gappedRuns, 'early')).not.toBeNull();
    expect(await h.conn.hget(h.keys.runMeta('early'), 'gapSince')).not.toBeNull();
    await h.queue.add('event', makeEvent('early', 1), { jobId: 'e-early-1' });
    await waitFor('head 4', async () => (await h.headSeq('early')) === 4);
    expect((await historyOf(h, 'early')).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(await h.conn.exists(h.keys.runPending('early'))).toBe(0);
    expect(await h.conn.hget(h.keys.runMeta('early'), 'gapSince')).toBeNull();
    await waitFor('published in commit order', () => h.publishedSeqs('early').length === 4);
    // One job released 1..4: they were published by one worker, in order.
    expect((h.published.get('early') ?? []).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('guarantee 5.3: a full reorder buffer delays jobs (not failed, not lost) until the gap fills', async () => {
    h = await harness({ AB_REORDER_BUFFER_MAX: '3', AB_EVENT_BACKOFF_MS: '20' });
    await h.startRouter();
    for (const seq of [2, 3, 4, 5, 6]) await h.queue.add('event', makeEvent('full', seq), { jobId: `e-full-${seq}` });
    await waitFor('buffer full and jobs delayed', async () => {
      const [len, delayed] = await Promise.all([h.conn.hlen(h.keys.runPending('full')), h.queue.getDelayedCount()]);
      return len === 3 && delayed >= 1 && (h.routers[0]?.getStatus().delayedFull ?? 0) >= 2;
    });
    expect(await h.conn.hlen(h.keys.runPending('full'))).toBe(3);
    await h.queue.add('event', makeEvent('full', 1), { jobId: 'e-full-1' });
    await waitFor('head 6', async () => (await h.headSeq('full')) === 6, { timeoutMs: 30_000 });
    expect((await historyOf(h, 'full')).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await h.queue.getFailedCount()).toBe(0);
    expect(h.routers[0]?.getStatus().deadLettered).toBe(0);
  });

  it('guarantee 6.2: malformed, oversized and schema-invalid jobs go to the dead-letter queue with the reason; other runs flow', async () => {
    h = await harness({ AB_MAX_PAYLOAD_BYTES: '1024' });
    await h.startRouter();
    await h.queue.add('event', { hello: 'world' }, { jobId: 'bad-shape' });
    await h.queue.add('event', makeEvent('bad', 1, 'custom.blob', { blob: 'x'.repeat(5_000) }), { jobId: 'too-big' });
    await h.queue.add('event', makeEvent('bad', 1, 'tool_executing', { tool: 'calc' }), { jobId: 'bad-payload' });
    await h.queue.add('event', makeEvent('bad', 1, 'gap', { missingSeq: 1, reason: 'forged' }), {
      jobId: 'forged-gap',
    });
    await h.queue.addBulk(Array.from({ length: 10 }, (_, i) => jobOf(makeEvent('good', i + 1))));
    await waitFor('good run committed', async () => (await h.headSeq('good')) === 10);
    await waitFor('4 dead letters', async () => (await deadLetters(h)).length === 4);
    const dl = new Map((await deadLetters(h)).map((r) => [r.jobId, r]));
    expect(dl.get('bad-shape')).toMatchObject({
      queue: h.config.queues.events,
      name: 'event',
      data: { hello: 'world' },
      reason: { code: 'INVALID_EVENT' },
    });
    expect(dl.get('bad-shape')?.reason.message).toMatch(/invalid event envelope: id: /);
    expect(dl.get('too-big')?.reason).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { limitBytes: 1024, sizeBytes: 5_011 },
    });
    // The oversized job is kept bounded in the DLQ.
    expect(dl.get('too-big')?.data).toMatchObject({ truncated: true });
    expect(dl.get('bad-payload')?.reason.message).toMatch(/invalid tool_executing payload: toolCallId/);
    expect(dl.get('forged-gap')?.reason.message).toMatch(/reserved/);
    expect(await h.headSeq('bad')).toBe(0);
    expect(await h.queue.getFailedCount()).toBe(0);
    expect(h.routers[0]?.getStatus()).toMatchObject({ deadLettered: 4, committed: 10, errors: 0 });
  });

  it('guarantee 1.8: the leader gap sweep commits gap events for missing seqs after the timeout and unsticks the run', async () => {
    h = await harness({ AB_GAP_TIMEOUT_MS: '300' });
    await h.startRouter();
    const deps = h.sweepDeps();
    const signal = new AbortController().signal;
    // Run "g": 3 and 6 never arrive. Run "m": 2, 3 and 4 never arrive.
    for (const seq of [1, 2, 4, 5, 7]) await h.queue.add('event', makeEvent('g', seq), { jobId: `e-g-${seq}` });
    for (const seq of [1, 5]) await h.queue.add('event', makeEvent('m', seq), { jobId: `e-m-${seq}` });
    await waitFor('buffered', async () => {
      const [g, m] = await Promise.all([h.conn.hlen(h.keys.runPending('g')), h.conn.hlen(h.keys.runPending('m'))]);
      return g === 3 && m === 1 && (await h.headSeq('g')) === 2 && (await h.headSeq('m')) === 1;
    });
    expect(await sweepGaps(deps, signal)).toBe(0); // not overdue yet
    await sleep(400);
    expect(await sweepGaps(deps, signal)).toBe(4); // g:3, m:2,3,4
    expect(await h.headSeq('g')).toBe(5);
    expect(await h.headSeq('m')).toBe(5);
    // g is blocked again, by seq 6, since the sweep: not overdue yet.
    expect(await sweepGaps(deps, signal)).toBe(0);
    await sleep(400);
    expect(await sweepGaps(deps, signal)).toBe(1);
    const g = await historyOf(h, 'g');
    expect(g.map((e) => [e.seq, e.type])).toEqual([
      [1, 'agent_thinking'],
      [2, 'agent_thinking'],
      [3, 'gap'],
      [4, 'agent_thinking'],
      [5, 'agent_thinking'],
      [6, 'gap'],
      [7, 'agent_thinking'],
    ]);
    expect(g[2]?.payload).toEqual({ missingSeq: 3, reason: expect.stringContaining('300 ms') as string });
    expect((await historyOf(h, 'm')).map((e) => e.type)).toEqual([
      'agent_thinking',
      'gap',
      'gap',
      'gap',
      'agent_thinking',
    ]);
    await waitFor('published', () => h.publishedSeqs('g').length === 7 && h.publishedSeqs('m').length === 5);
    // Both runs are out of the gap index once a sweep finds them clean.
    await sleep(400);
    expect(await sweepGaps(deps, signal)).toBe(0);
    expect(await h.conn.zcard(h.keys.gappedRuns)).toBe(0);
    // The lost event arriving late is rejected with a reason, never shown twice.
    await h.queue.add('event', makeEvent('g', 3), { jobId: 'e-g-3' });
    await waitFor('late event dead-lettered', async () => (await deadLetters(h)).length === 1);
    expect((await deadLetters(h))[0]?.reason.message).toMatch(/declared missing/);
    expect((await historyOf(h, 'g')).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('guarantee 1.1: commit and publish are one atomic step; a redelivered job re-publishes exactly what its first attempt committed', async () => {
    h = await harness();
    // The first attempt: seq 2 buffered, then seq 1 releases 1 and 2 — published by the script itself.
    await h.commit(makeEvent('crash', 2));
    expect(h.published.get('crash')).toBeUndefined();
    const first = await h.commit(makeEvent('crash', 1));
    expect(first.events[0]).toMatchObject({ outcome: 'committed', appended: 2 });
    await waitFor('published by the commit', () => (h.published.get('crash') ?? []).length === 2);
    const committed = await historyOf(h, 'crash');
    expect(committed.map((e) => e.seq)).toEqual([1, 2]);
    expect(h.published.get('crash')).toEqual(committed);
    // BullMQ redelivers the job of seq 1 (say its replica died before completing it).
    await h.startRouter();
    await h.queue.add('event', makeEvent('crash', 1), { jobId: 'e-crash-1' });
    await waitFor('re-published', () => (h.published.get('crash') ?? []).length === 4);
    expect(h.published.get('crash')).toEqual([...committed, ...committed]);
    expect((await historyOf(h, 'crash')).map((e) => e.seq)).toEqual([1, 2]);
    expect(h.routers[0]?.getStatus()).toMatchObject({ duplicates: 1, committed: 0 });
  });

  it('records terminal status from agent_completed / agent_error (cancelled when code is "cancelled")', async () => {
    h = await harness();
    await h.startRouter();
    await h.queue.addBulk([
      jobOf(makeEvent('done', 1)),
      jobOf(makeEvent('done', 2, 'agent_completed', { output: 42 })),
      jobOf(makeEvent('boom', 1, 'agent_error', { message: 'exploded' })),
      jobOf(makeEvent('stop', 1, 'agent_error', { message: 'stopped', code: 'cancelled' })),
    ]);
    await waitFor('committed', async () => (await h.headSeq('done')) === 2 && (await h.headSeq('stop')) === 1);
    await waitFor('boom', async () => (await h.headSeq('boom')) === 1);
    expect(await h.conn.hget(h.keys.runMeta('done'), 'status')).toBe('completed');
    expect(await h.conn.hget(h.keys.runMeta('boom'), 'status')).toBe('failed');
    expect(await h.conn.hget(h.keys.runMeta('stop'), 'status')).toBe('cancelled');
  });

  it('guarantee 5.2: trims history to historyMaxLen and expires run keys after historyTtlMs', async () => {
    h = await harness({ AB_HISTORY_MAX_LEN: '10', AB_HISTORY_TTL_MS: '60000' });
    await h.startRouter();
    await h.queue.addBulk(Array.from({ length: 25 }, (_, i) => jobOf(makeEvent('trim', i + 1))));
    await waitFor('head 25', async () => (await h.headSeq('trim')) === 25);
    const page = await readHistory(h.conn, h.keys, 'trim', 0, 100);
    expect(page.firstSeq).toBe(16);
    expect(page.events.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 16));
    for (const key of [h.keys.runMeta('trim'), h.keys.runHistory('trim')]) {
      const ttl = await h.conn.pttl(key);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('guarantee 3.5: start() and close() are idempotent; close waits for the worker and leaves the connections open', async () => {
    h = await harness();
    const router = await h.startRouter();
    await router.start();
    expect(router.getStatus().state).toBe('running');
    await Promise.all([router.close(), router.close()]);
    expect(router.getStatus().state).toBe('closed');
    await expect(router.start()).rejects.toThrow(/cannot start the event router while closed/);
    expect(await h.conn.ping()).toBe('PONG');
    expect(await h.workerConn.ping()).toBe('PONG');
  });
});
