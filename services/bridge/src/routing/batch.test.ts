import { type DeadLetterRecord, type EventEnvelope, JobName } from '@agent-bridge/protocol';
import { readHistory } from '@agent-bridge/redis';
import { destroyAllRedis, waitFor } from '@agent-bridge/testing';
import { type Harness, jobOf, makeEvent, shuffle, standaloneRedisHarness } from './test-harness';

afterAll(destroyAllRedis);

async function historyOf(h: Harness, runId: string): Promise<EventEnvelope[]> {
  return (await readHistory(h.conn, h.keys, runId, 0, 100_000)).events;
}

async function deadLetters(h: Harness): Promise<DeadLetterRecord[]> {
  const jobs = await h.dlq.getJobs(['waiting', 'delayed', 'completed']);
  return jobs.map((j) => j.data as DeadLetterRecord);
}

/** An `events` batch job as the agent SDK puts it on the queue. */
function batchOf(
  events: unknown[],
  jobId: string,
): { name: string; data: { events: unknown[] }; opts: { jobId: string } } {
  return { name: JobName.Events, data: { events }, opts: { jobId } };
}

const seqs = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('EventRouter — `events` batch jobs (standalone Redis)', () => {
  const { harness } = standaloneRedisHarness();
  let h: Harness;

  it('guarantee 1.1: one batch job commits its events in seq order with one script call and publishes each once, in order', async () => {
    h = await harness();
    await h.startRouter();
    const events = seqs(1, 50).map((s) => makeEvent('b1', s));
    await h.queue.addBulk([batchOf(events, 'batch-b1')]);
    await waitFor('head 50', async () => (await h.headSeq('b1')) === 50);
    const history = await historyOf(h, 'b1');
    expect(history.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(history[9]).toEqual({ ...events[9], epoch: history[0]?.epoch });
    await waitFor('published', () => h.publishedSeqs('b1').length === 50);
    expect(h.published.get('b1')).toEqual(history);
    expect(h.routers[0]?.getStatus()).toMatchObject({ processed: 1, committed: 50, duplicates: 0, deadLettered: 0 });
  });

  it('guarantee 6.2: in a mixed batch the invalid events go to the dead-letter queue with their reason; the valid ones commit', async () => {
    h = await harness({ AB_MAX_PAYLOAD_BYTES: '1024' });
    await h.startRouter();
    const events: unknown[] = [
      makeEvent('mix', 1),
      makeEvent('mix', 2),
      { ...makeEvent('mix', 3), payload: { delta: 42 } }, // schema-invalid payload
      makeEvent('mix', 4, 'custom.blob', { blob: 'x'.repeat(5_000) }), // oversized
      { hello: 'world' }, // not an envelope
      makeEvent('mix-other', 1), // another run in the same job
      makeEvent('mix-other', 2),
    ];
    await h.queue.addBulk([batchOf(events, 'batch-mix')]);
    await waitFor('3 dead-lettered', async () => (await deadLetters(h)).length === 3);
    await waitFor('other run committed', async () => (await h.headSeq('mix-other')) === 2);
    expect((await historyOf(h, 'mix')).map((e) => e.id)).toEqual(['e-mix-1', 'e-mix-2']);
    expect((await historyOf(h, 'mix-other')).map((e) => e.id)).toEqual(['e-mix-other-1', 'e-mix-other-2']);
    const dlq = (await deadLetters(h)).sort((a, b) => (a.batchIndex ?? 0) - (b.batchIndex ?? 0));
    expect(dlq.map((r) => [r.jobId, r.name, r.batchIndex, r.reason.code])).toEqual([
      ['batch-mix', 'events', 2, 'INVALID_EVENT'],
      ['batch-mix', 'events', 3, 'PAYLOAD_TOO_LARGE'],
      ['batch-mix', 'events', 4, 'INVALID_EVENT'],
    ]);
    expect(dlq[0]?.reason.message).toMatch(/invalid agent_thinking payload/);
    expect(dlq[0]?.data).toEqual(events[2]);
    expect(dlq[2]?.data).toEqual({ hello: 'world' });
    // The job itself completed (not failed, not retried).
    await waitFor('job completed', async () => (await h.queue.getCompletedCount()) === 1);
    expect(await h.queue.getFailedCount()).toBe(0);
    expect(h.routers[0]?.getStatus()).toMatchObject({ committed: 4, deadLettered: 3, errors: 0 });

    // A batch job whose outer shape is wrong is dead-lettered as a whole.
    await h.queue.add(JobName.Events, { events: 'nope' }, { jobId: 'batch-bad' });
    await h.queue.add(JobName.Events, { events: [] }, { jobId: 'batch-empty' });
    await waitFor('5 dead-lettered', async () => (await deadLetters(h)).length === 5);
    const whole = (await deadLetters(h)).filter((r) => r.batchIndex === undefined).map((r) => r.jobId);
    expect(whole.sort()).toEqual(['batch-bad', 'batch-empty']);
  });

  it('guarantee 3.2: a redelivered batch (same events, any job id) is a no-op that re-publishes what was committed', async () => {
    h = await harness();
    await h.startRouter();
    const events = seqs(1, 5).map((s) => makeEvent('redo', s));
    await h.queue.addBulk([batchOf(events, 'batch-redo')]);
    await waitFor('head 5', async () => (await h.headSeq('redo')) === 5);
    const history = await historyOf(h, 'redo');
    // The same batch again (a producer retry after the first job was removed), and an overlapping one.
    await h.queue.addBulk([batchOf(events, 'batch-redo-again')]);
    await waitFor('5 duplicates', () => (h.routers[0]?.getStatus().duplicates ?? 0) === 5);
    await h.queue.addBulk([batchOf([events[3], events[4], makeEvent('redo', 6)], 'batch-redo-overlap')]);
    await waitFor('head 6', async () => (await h.headSeq('redo')) === 6);
    const after = await historyOf(h, 'redo');
    expect(after.slice(0, 5)).toEqual(history);
    expect(after.map((e) => e.id)).toEqual(seqs(1, 6).map((s) => `e-redo-${s}`));
    await waitFor('published', () => h.publishedSeqs('redo').length === 6);
    const pub = h.published.get('redo') ?? [];
    // Every copy of a seq is the identical committed envelope (clients drop the copies by seq).
    for (const e of pub) expect(e).toEqual(after[e.seq - 1]);
    expect(pub.filter((e) => e.seq === 1)).toHaveLength(2);
    expect(pub.filter((e) => e.seq === 4)).toHaveLength(3);
    expect(pub.filter((e) => e.seq === 6)).toHaveLength(1);
    expect(h.routers[0]?.getStatus()).toMatchObject({ committed: 6, duplicates: 7, deadLettered: 0 });

    // The same seq with another event id inside a batch: that event is dead-lettered, its neighbours commit.
    await h.queue.addBulk([batchOf([{ ...makeEvent('redo', 6), id: 'e-impostor' }, makeEvent('redo', 7)], 'batch-c')]);
    await waitFor('head 7', async () => (await h.headSeq('redo')) === 7);
    await waitFor('conflict dead-lettered', async () => (await deadLetters(h)).length === 1);
    const [conflict] = await deadLetters(h);
    expect(conflict).toMatchObject({ jobId: 'batch-c', batchIndex: 0, reason: { code: 'INVALID_EVENT' } });
    expect(conflict?.reason.message).toMatch(/already committed with another event id \(e-redo-6\)/);
  });

  it('guarantee 1.1: interleaved runs, batch and single jobs shuffled, concurrency 8 — every history exact and in seq order', async () => {
    h = await harness();
    const runs = Array.from({ length: 12 }, (_, i) => `mixed-${i}`);
    const jobs = runs.flatMap((runId, r) => {
      const ev = seqs(1, 40).map((s) => makeEvent(runId, s));
      // Cut each run into batches of varying size with single jobs between them.
      const out: ReturnType<typeof batchOf | typeof jobOf>[] = [];
      let i = 0;
      let n = 0;
      while (i < ev.length) {
        const size = ((r + n) % 4) + 1 === 1 ? 1 : ((r + n) % 4) * 3;
        const chunk = ev.slice(i, i + size);
        out.push(chunk.length === 1 ? jobOf(chunk[0]!) : batchOf(chunk, `batch-${runId}-${i}`));
        i += size;
        n++;
      }
      return out;
    });
    // Two runs' events in one batch job as well (a producer in another language may do that).
    jobs.push(batchOf([makeEvent('pair-a', 1), makeEvent('pair-b', 1), makeEvent('pair-a', 2)], 'batch-pair'));
    await h.queue.addBulk(shuffle(jobs, 7));
    await h.startRouter();
    await h.startRouter(); // a second replica
    await waitFor('all runs committed', async () => {
      const heads = await Promise.all(runs.map((r) => h.headSeq(r)));
      return heads.every((x) => x === 40) && (await h.headSeq('pair-a')) === 2;
    });
    for (const runId of runs) {
      const history = await historyOf(h, runId);
      expect(history.map((e) => e.id)).toEqual(seqs(1, 40).map((s) => `e-${runId}-${s}`));
      await waitFor(`published ${runId}`, () => h.publishedSeqs(runId).length === 40);
      // No retries: each event was published exactly once, in commit (= seq) order.
      expect(h.published.get(runId)).toEqual(history);
    }
    expect((await historyOf(h, 'pair-a')).map((e) => e.id)).toEqual(['e-pair-a-1', 'e-pair-a-2']);
    expect((await historyOf(h, 'pair-b')).map((e) => e.id)).toEqual(['e-pair-b-1']);
    const committed = h.routers.reduce((a, r) => a + r.getStatus().committed, 0);
    const duplicates = h.routers.reduce((a, r) => a + r.getStatus().duplicates, 0);
    expect({ committed, duplicates }).toEqual({ committed: 12 * 40 + 3, duplicates: 0 });
  });

  it('guarantee 1.1: ordering across batch and single jobs — early batches wait in the reorder buffer for a single job', async () => {
    h = await harness();
    await h.startRouter();
    const ev = seqs(1, 9).map((s) => makeEvent('across', s));
    await h.queue.addBulk([batchOf(ev.slice(6, 9), 'batch-7-9')]);
    await waitFor('7..9 buffered', async () => (await h.conn.hlen(h.keys.runPending('across'))) === 3);
    await h.queue.add('event', ev[3], { jobId: ev[3]!.id });
    await h.queue.addBulk([batchOf([ev[4], ev[5]], 'batch-5-6')]);
    await waitFor('4..9 buffered', async () => (await h.conn.hlen(h.keys.runPending('across'))) === 6);
    expect(await h.headSeq('across')).toBe(0);
    expect(h.published.get('across')).toBeUndefined();
    expect(await h.conn.zscore(h.keys.gappedRuns, 'across')).not.toBeNull();
    await h.queue.addBulk([batchOf([ev[1], ev[2]], 'batch-2-3')]);
    await waitFor('2..9 buffered', async () => (await h.conn.hlen(h.keys.runPending('across'))) === 8);
    await h.queue.add('event', ev[0], { jobId: ev[0]!.id });
    await waitFor('head 9', async () => (await h.headSeq('across')) === 9);
    const history = await historyOf(h, 'across');
    expect(history.map((e) => e.id)).toEqual(ev.map((e) => e.id));
    expect(await h.conn.exists(h.keys.runPending('across'))).toBe(0);
    await waitFor('published', () => h.publishedSeqs('across').length === 9);
    expect(h.published.get('across')).toEqual(history);
  });

  it('guarantee 5.3: a batch meeting a full reorder buffer is delayed, not failed, and completes once the gap fills', async () => {
    h = await harness({ AB_REORDER_BUFFER_MAX: '3', AB_EVENT_BACKOFF_MS: '20' });
    await h.startRouter();
    const ev = seqs(1, 6).map((s) => makeEvent('bfull', s));
    await h.queue.addBulk([batchOf(ev.slice(1, 6), 'batch-2-6')]);
    await waitFor('buffer full, batch delayed', async () => {
      const len = await h.conn.hlen(h.keys.runPending('bfull'));
      return len === 3 && (h.routers[0]?.getStatus().delayedFull ?? 0) >= 1;
    });
    await h.queue.add('event', ev[0], { jobId: ev[0]!.id });
    await waitFor('head 6', async () => (await h.headSeq('bfull')) === 6, { timeoutMs: 30_000 });
    expect((await historyOf(h, 'bfull')).map((e) => e.id)).toEqual(ev.map((e) => e.id));
    expect(await h.queue.getFailedCount()).toBe(0);
    expect(h.routers[0]?.getStatus().deadLettered).toBe(0);
  });
});
