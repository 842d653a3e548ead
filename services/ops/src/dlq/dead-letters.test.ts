import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import {
  type DeadLetterRecord,
  ForbiddenError,
  InvalidRequestError,
  JobName,
  type KeyLayout,
  NotFoundError,
  keyLayout,
} from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { type RedisServer, startRedis } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { DeadLetters } from './dead-letters';

let redis: RedisServer | undefined;
let conn: RedisConnection | undefined;
let config: AppConfig;
let keys: KeyLayout;
let dlqQueue: Queue | undefined;
let eventsQueue: Queue | undefined;

beforeAll(async () => {
  redis = await startRedis();
  const prefix = `t${randomUUID().slice(0, 8)}`;
  config = loadConfig({ env: {}, overrides: { REDIS_URL: redis.url, AB_KEY_PREFIX: prefix } });
  keys = keyLayout(prefix);
  conn = createRedis(config, 'command');
  dlqQueue = new Queue(config.queues.deadLetter, { connection: conn, prefix: keys.bullPrefix });
  eventsQueue = new Queue(config.queues.events, { connection: conn, prefix: keys.bullPrefix });
});
afterAll(async () => {
  await dlqQueue?.close();
  await eventsQueue?.close();
  if (conn) await closeRedis(conn);
  await redis?.destroy();
});

const event = { id: 'ev-1', runId: 'run-a', seq: 1, epoch: 0, type: 'agent_thinking', ts: 1, payload: { delta: 'x' } };

/** A record as the bridge's DeadLetterWriter stores it. */
async function deadLetter(id: string, record: Partial<DeadLetterRecord>): Promise<void> {
  const full: DeadLetterRecord = {
    queue: config.queues.events,
    jobId: 'job-1',
    name: JobName.Events,
    data: event,
    reason: { code: 'NOT_FOUND', message: 'run run-a is not registered', details: { runId: 'run-a' } },
    deadLetteredAt: Date.now(),
    ...record,
  };
  await dlqQueue!.add('dead_letter', full, { jobId: id });
}

describe('DeadLetters: the one module behind the status page DLQ view and `agent-bridge dlq`', () => {
  it('lists newest first with reasons and run/seq, shows one in full, pages with limit/offset', async () => {
    await deadLetter('dlq-a', { batchIndex: 0, deadLetteredAt: 1_000 });
    await deadLetter('dlq-b', { name: JobName.Event, data: { hello: 'world' }, jobId: 'job-2' });
    const dlq = new DeadLetters(config, keys, conn!, { readOnly: true });
    try {
      const all = await dlq.list();
      expect(all.total).toBe(2);
      expect(all.records.map((r) => r.id)).toEqual(['dlq-b', 'dlq-a']);
      expect(all.records[1]).toMatchObject({
        jobId: 'job-1',
        runId: 'run-a',
        seq: 1,
        batchIndex: 0,
        reason: { code: 'NOT_FOUND', message: 'run run-a is not registered' },
        requeueable: true,
      });
      expect(all.records[0]).toMatchObject({ runId: null, seq: null, batchIndex: null });
      expect((await dlq.list({ limit: 1, offset: 1 })).records.map((r) => r.id)).toEqual(['dlq-a']);
      const detail = await dlq.get('dlq-a');
      expect(detail.data).toEqual(event);
      expect(detail.reasonDetails).toEqual({ runId: 'run-a' });
      await expect(dlq.get('no-such')).rejects.toThrow(NotFoundError);
    } finally {
      await dlq.close();
    }
  });

  it('read-only (the default, AB_OPS_READ_ONLY=true) refuses requeue with ForbiddenError and changes nothing', async () => {
    const dlq = new DeadLetters(config, keys, conn!);
    try {
      expect(dlq.isReadOnly).toBe(true);
      await expect(dlq.requeue('dlq-a')).rejects.toThrow(ForbiddenError);
      expect(await dlq.count()).toBe(2);
      expect(await eventsQueue!.getJob('requeue-dlq-a')).toBeUndefined();
    } finally {
      await dlq.close();
    }
  });

  it('write mode: a batch event goes back as a single event job, a whole job under its name; the record is removed', async () => {
    const dlq = new DeadLetters(config, keys, conn!, { readOnly: false });
    try {
      expect(await dlq.requeue('dlq-a')).toEqual({
        id: 'dlq-a',
        queue: config.queues.events,
        jobId: 'requeue-dlq-a',
        name: JobName.Event,
      });
      const job = await eventsQueue!.getJob('requeue-dlq-a');
      expect(job?.name).toBe(JobName.Event);
      expect(job?.data).toEqual(event);
      expect(job?.opts.attempts).toBe(config.events.jobAttempts);
      expect((await dlq.requeue('dlq-b')).name).toBe(JobName.Event);
      expect(await dlq.count()).toBe(0);
      await expect(dlq.requeue('dlq-a')).rejects.toThrow(NotFoundError);
    } finally {
      await dlq.close();
    }
  });

  it('a record that keeps only a preview of an oversized job cannot be requeued (InvalidRequestError)', async () => {
    await deadLetter('dlq-big', { data: { truncated: true, sizeBytes: 9_999_999, preview: '{"id":' } });
    const dlq = new DeadLetters(config, keys, conn!, { readOnly: false });
    try {
      expect((await dlq.get('dlq-big')).requeueable).toBe(false);
      await expect(dlq.requeue('dlq-big')).rejects.toThrow(InvalidRequestError);
      expect(await dlq.count()).toBe(1);
    } finally {
      await dlq.close();
    }
  });
});
