import { createHash } from 'node:crypto';
import { type EventEnvelope, MAX_EVENTS_PER_BATCH_JOB } from '@agent-bridge/protocol';

/** An accepted emit waiting for its event to be on the queue. */
export interface Waiting {
  event: EventEnvelope;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The digest of a batch job id ({@link eventBatchJobId}). */
export function sha1Hex(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * Packs the events of one flush into jobs: one `events` batch job for all of them (at most
 * {@link MAX_EVENTS_PER_BATCH_JOB} each, a run's events kept together in emit order), or an `event` job
 * when the flush holds a single event. The bridge commits each run of a batch job with one script call.
 */
export function toJobs(batch: readonly Waiting[]): EventEnvelope[][] {
  const runs = new Map<string, EventEnvelope[]>();
  for (const { event } of batch) {
    let list = runs.get(event.runId);
    if (!list) runs.set(event.runId, (list = []));
    list.push(event);
  }
  const out: EventEnvelope[][] = [];
  let job: EventEnvelope[] = [];
  for (const list of runs.values()) {
    for (const event of list) {
      if (job.length >= MAX_EVENTS_PER_BATCH_JOB) {
        out.push(job);
        job = [];
      }
      job.push(event);
    }
  }
  if (job.length > 0) out.push(job);
  return out;
}
