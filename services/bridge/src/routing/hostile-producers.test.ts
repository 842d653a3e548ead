import type { DeadLetterRecord, EventEnvelope } from '@agent-bridge/protocol';
import { readHistory } from '@agent-bridge/redis';
import { destroyAllRedis, sleep, waitFor } from '@agent-bridge/testing';
import { sweepGaps } from './index';
import { type Harness, makeEvent, standaloneRedisHarness } from './test-harness';

// Issue 9, defect 6: every bad producer input ends in the dead-letter queue with a reason, one record per
// rejection, and is bounded (guarantees 5.5 and 6.2 in docs/guarantees.md).

afterAll(destroyAllRedis);

async function historyOf(h: Harness, runId: string): Promise<EventEnvelope[]> {
  return (await readHistory(h.conn, h.keys, runId, 0, 100_000)).events;
}

async function deadLetters(h: Harness): Promise<DeadLetterRecord[]> {
  const jobs = await h.dlq.getJobs(['waiting', 'delayed', 'completed']);
  return jobs.map((j) => j.data as DeadLetterRecord);
}

describe('hostile or broken producers (standalone Redis)', () => {
  const { harness } = standaloneRedisHarness();
  let h: Harness;

  it('guarantee 5.5: a seq far ahead of the head (1e12) is never buffered, never gap-filled, and is dead-lettered', async () => {
    h = await harness({ AB_GAP_TIMEOUT_MS: '200', AB_EVENT_BACKOFF_MS: '20', AB_REORDER_BUFFER_MAX: '100' });
    await h.startRouter();
    await h.queue.add('event', makeEvent('far', 1), { jobId: 'e-far-1' });
    await h.queue.add('event', { ...makeEvent('far', 1e12), id: 'e-far-huge' }, { jobId: 'e-far-huge' });
    await waitFor('seq 1 committed', async () => (await h.headSeq('far')) === 1);
    const signal = new AbortController().signal;
    // The leader sweeps as often as it would: nothing to fill, because nothing was buffered.
    const until = Date.now() + 1_500;
    let gaps = 0;
    while (Date.now() < until) {
      gaps += await sweepGaps(h.sweepDeps(), signal);
      await sleep(100);
    }
    expect(gaps).toBe(0);
    expect(await h.conn.hlen(h.keys.runPending('far'))).toBe(0);
    await waitFor('dead-lettered', async () => (await deadLetters(h)).length === 1, { timeoutMs: 30_000 });
    const [record] = await deadLetters(h);
    expect(record).toMatchObject({ jobId: 'e-far-huge', reason: { code: 'INVALID_EVENT' } });
    expect(record?.reason.message).toMatch(/ahead of the committed head/);
    expect((await historyOf(h, 'far')).map((e) => e.seq)).toEqual([1]);
    // Bounded: the job is complete, not cycling through the delayed set.
    await waitFor('job completed', async () => (await h.queue.getJobState('e-far-huge')) === 'completed');
    expect(await h.queue.getDelayedCount()).toBe(0);
  });

  it('guarantee 6.2: a conflicting event for a buffered seq is dead-lettered (not dropped); the buffered one commits', async () => {
    h = await harness();
    await h.startRouter();
    await h.queue.add('event', makeEvent('cb', 3), { jobId: 'e-cb-3' });
    await waitFor('seq 3 buffered', async () => (await h.conn.hlen(h.keys.runPending('cb'))) === 1);
    const impostor = { ...makeEvent('cb', 3), id: 'e-impostor-3', payload: { delta: 'other' } };
    await h.queue.add('event', impostor, { jobId: impostor.id });
    await waitFor('conflict dead-lettered', async () => (await deadLetters(h)).length === 1);
    const [record] = await deadLetters(h);
    expect(record).toMatchObject({ jobId: 'e-impostor-3', reason: { code: 'INVALID_EVENT' } });
    expect(record?.reason.message).toMatch(/seq 3 of run cb is already buffered with another event id \(e-cb-3\)/);
    for (const seq of [1, 2]) await h.queue.add('event', makeEvent('cb', seq), { jobId: `e-cb-${seq}` });
    await waitFor('head 3', async () => (await h.headSeq('cb')) === 3);
    expect((await historyOf(h, 'cb')).map((e) => e.id)).toEqual(['e-cb-1', 'e-cb-2', 'e-cb-3']);
  });

  it('guarantee 6.2: a second rejection reusing a job id leaves its own dead-letter record', async () => {
    h = await harness();
    await h.startRouter();
    await h.queue.add('event', { hello: 'first' }, { jobId: 'reused' });
    await waitFor('first record', async () => (await deadLetters(h)).length === 1);
    await waitFor('first job done', async () => (await h.queue.getJobState('reused')) === 'completed');
    // The events queue forgets completed jobs (removeOnComplete): a producer may reuse the id.
    await h.queue.remove('reused');
    await sleep(5); // a later creation time
    await h.queue.add('event', { hello: 'second' }, { jobId: 'reused' });
    await waitFor('second record', async () => (await deadLetters(h)).length === 2);
    const data = (await deadLetters(h)).map((r) => (r.data as { hello: string }).hello).sort();
    expect(data).toEqual(['first', 'second']);
  });

  it('guarantee 6.2: a job whose data is not JSON is dead-lettered once and completes (no stalled/active cycle); the queue stays listable', async () => {
    h = await harness({ AB_WORKER_LOCK_DURATION_MS: '1000', AB_WORKER_STALLED_INTERVAL_MS: '500' });
    // A broken producer in another language wrote text that is not JSON.
    await h.queue.add('event', makeEvent('raw', 1), { jobId: 'not-json' });
    await h.conn.hset(`${h.keys.bullPrefix}:${h.config.queues.events}:not-json`, 'data', '{"id": "e-raw-1", oops');
    await h.queue.add('event', makeEvent('raw-ok', 1), { jobId: 'fine' });
    await h.startRouter();
    await waitFor('dead-lettered', async () => (await deadLetters(h)).length === 1, { timeoutMs: 30_000 });
    const [record] = await deadLetters(h);
    expect(record).toMatchObject({ jobId: 'not-json', reason: { code: 'INVALID_EVENT' } });
    expect(record?.reason.message).toMatch(/job data is not JSON/);
    expect(record?.data).toMatchObject({ __agentBridgeUndecodable: { preview: '{"id": "e-raw-1", oops' } });
    await waitFor('completed', async () => (await h.queue.getJobState('not-json')) === 'completed');
    await waitFor('other run committed', async () => (await h.headSeq('raw-ok')) === 1);
    // Listing the queue (what Bull Board does) works: every stored job decodes.
    const listed = await h.queue.getJobs(['completed', 'active', 'wait', 'failed']);
    expect(listed.map((j) => j.id).sort()).toEqual(['fine', 'not-json']);
    // And it stays done: no stall, no second attempt, no second record.
    await sleep(2_000);
    expect(await h.queue.getJobState('not-json')).toBe('completed');
    expect(await deadLetters(h)).toHaveLength(1);
    expect(h.routers[0]?.getStatus().processed).toBe(2);
  });

  it('guarantee 6.2: events of a run that was never registered are dead-lettered, never committed with no owner', async () => {
    h = await harness();
    await h.startRouter();
    const events = Array.from({ length: 20 }, (_, i) => makeEvent('ghost', i + 1));
    await h.rawQueue.addBulk(events.map((e) => ({ name: 'event', data: e, opts: { jobId: e.id } })));
    await waitFor('all dead-lettered', async () => (await deadLetters(h)).length === 20);
    const records = await deadLetters(h);
    expect(new Set(records.map((r) => r.jobId))).toEqual(new Set(events.map((e) => e.id)));
    for (const r of records) {
      expect(r.reason.code).toBe('NOT_FOUND');
      expect(r.reason.message).toMatch(/run ghost is not registered/);
    }
    for (const key of [h.keys.runMeta('ghost'), h.keys.runHistory('ghost'), h.keys.runPending('ghost')]) {
      expect(await h.conn.exists(key)).toBe(0);
    }
    // Registered afterwards, the same events commit.
    await h.queue.addBulk(events.map((e) => ({ name: 'event', data: e, opts: { jobId: `${e.id}-again` } })));
    await waitFor('committed once registered', async () => (await h.headSeq('ghost')) === 20);
  });
});
