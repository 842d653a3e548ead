import type { AppConfig } from '@agent-bridge/config';
import { ErrorCode, type EventEnvelope, StandardEventType, type WireError } from '@agent-bridge/protocol';
import type { EventCommitResult, PackedEvent, RunStore } from '@agent-bridge/redis';
import { type Logger, failSpan, metrics, startConsumerSpan } from '@agent-bridge/telemetry';
import { DelayedError, type Job } from 'bullmq';
import type { CommitBatcher } from './commit-batcher';
import { type DecodedEvent, decodeJob } from './job-decoder';
import type { RoomPublisher } from './room-publisher';
import type { RouterStats } from './router-status';
import { undecodableOf } from './tolerant-worker';

/** Records a rejected job — or, with `entry`, one rejected event of it — in the dead-letter queue. */
export type DeadLetterFn = (job: Job, reason: WireError, entry?: { index: number; data: unknown }) => Promise<void>;

/** What an {@link EventPipeline} works with. */
export interface EventPipelineDeps {
  config: AppConfig;
  store: RunStore;
  batcher: CommitBatcher;
  publisher: RoomPublisher;
  stats: RouterStats;
  logger: Logger;
  deadLetter: DeadLetterFn;
}

/**
 * The one pipeline every events job goes through, whatever queue it came from: decode the job into events
 * (each validated on its own; an invalid one is dead-lettered with its reason, the others still commit),
 * commit each run's events through the batcher (with the events of the other jobs of this turn), then
 * account per event. When some event must wait (its run's reorder buffer is full, or its seq is further
 * ahead than the buffer reaches) the whole job is delayed and retried later: what it already committed is
 * then a duplicate (a no-op).
 */
export class EventPipeline {
  private readonly counts: RouterStats['counts'];

  constructor(private readonly deps: EventPipelineDeps) {
    this.counts = deps.stats.counts;
  }

  /** Processes one job (BullMQ's processor); throws DelayedError when the job was moved to delayed. */
  async process(job: Job, token: string | undefined): Promise<string> {
    this.counts.processed++;
    this.counts.inFlight++;
    try {
      return await this.processEvents(job, token);
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      this.counts.errors++;
      this.deps.stats.noteError(err);
      throw err;
    } finally {
      this.counts.inFlight--;
    }
  }

  private async processEvents(job: Job, token: string | undefined): Promise<string> {
    const { config, deadLetter } = this.deps;
    const bad = undecodableOf(job.data);
    if (bad) {
      await deadLetter(job, {
        code: ErrorCode.InvalidEvent,
        message: `job ${bad.field} is not JSON: ${bad.error}`,
        details: { field: bad.field, preview: bad.preview },
      });
      // Store JSON in its place, so tools that list the queue (Bull Board) can read the job.
      await job.updateData({ undecodable: bad });
      return 'dead-lettered';
    }
    const decoded = decodeJob(job, config.events.maxPayloadBytes);
    // Dead-letter writes and re-publishes run while the commits are awaited; each gets a handler at once
    // (a failure under load must not become an unhandled rejection) and is awaited below.
    const writes = new Writes();
    if ('rejected' in decoded) {
      await deadLetter(job, decoded.rejected);
      return 'dead-lettered';
    }
    for (const r of decoded.invalid) writes.push(deadLetter(job, r.reason, { index: r.index, data: r.data }));
    const runs = new Map<string, DecodedEvent[]>();
    for (const d of decoded.events) {
      let list = runs.get(d.event.runId);
      if (!list) runs.set(d.event.runId, (list = []));
      list.push(d);
    }
    // The job runs in the commit span of its first event (see tracedProcessor); every other event of a
    // batch job gets its own commit span in its emit's trace.
    const spans = new Map<DecodedEvent, ReturnType<typeof startConsumerSpan>>();
    for (const d of decoded.events) {
      if (d.index > 0) spans.set(d, startConsumerSpan(d.event, { queue: config.queues.events }));
    }
    let waits: boolean[];
    let outcome: string | undefined;
    try {
      waits = await Promise.all(
        [...runs.entries()].map(async ([runId, list]) => {
          const packed: PackedEvent[] = list.map((d) => this.deps.store.pack(d.event));
          const { results } = await this.deps.batcher.commit(runId, packed);
          if (decoded.events.length === 1) outcome = results[0]?.outcome;
          for (const [i, d] of list.entries()) {
            const span = spans.get(d);
            if (!span) continue;
            span.setAttribute('agent_bridge.outcome', results[i]?.outcome ?? 'none');
            span.end();
            spans.delete(d);
          }
          return this.account(job, list, results, writes);
        }),
      );
    } catch (err) {
      for (const span of spans.values()) failSpan(span, err);
      throw err;
    }
    await writes.all();
    if (waits.includes(true)) {
      // A run waits for a missing seq: retry later without using up the job's attempts; the leader's gap
      // sweep guarantees the head moves eventually.
      this.counts.delayedFull++;
      const delay = Math.min(config.events.jobBackoffMs * 2 ** Math.min(job.attemptsStarted, 10), 5_000);
      this.deps.logger.debug({ jobId: job.id, delay }, 'reorder buffer full; job delayed');
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
    if (decoded.invalid.length > 0) return decoded.events.length > 0 ? 'partly dead-lettered' : 'dead-lettered';
    // A single event's job reports its outcome (committed, buffered, duplicate, conflict, unregistered).
    return outcome ?? 'committed';
  }

  /**
   * Accounts for the results of one run's events of a job (`results[i]` is the result of `list[i]`);
   * dead-letter writes and re-publishes go into `writes`. True when an event must wait (the job is delayed).
   */
  private account(job: Job, list: DecodedEvent[], results: EventCommitResult[], writes: Writes): boolean {
    const { config, deadLetter } = this.deps;
    let wait = false;
    const republish: EventEnvelope[] = [];
    for (const [i, { event, index, data }] of list.entries()) {
      const result = results[i];
      if (!result) throw new Error(`no commit result for event ${String(index)} of job ${String(job.id)}`);
      const entry = { index, data };
      switch (result.outcome) {
        case 'committed':
          this.counts.committed += result.appended;
          metrics.eventsRouted.add(result.appended);
          metrics.commitLatency.record(Math.max(0, Date.now() - event.ts));
          break;
        case 'duplicate':
          this.counts.duplicates++;
          metrics.eventsDeduplicated.add(1);
          // Re-publish what the first attempt committed (and published): cheap insurance for a subscriber
          // that missed it; clients drop the copy by seq.
          republish.push(...result.envelopes);
          break;
        case 'buffered':
          this.counts.buffered++;
          break;
        case 'conflict':
          writes.push(deadLetter(job, conflictReason(event, result), entry));
          break;
        case 'unregistered':
          writes.push(deadLetter(job, unregisteredReason(event), entry));
          break;
        case 'ahead':
          // Further ahead of the head than the reorder buffer reaches. Give the run time to catch up (the
          // gap sweep moves a blocked head after gapTimeoutMs); past that it never will: dead-letter it.
          if (Date.now() - job.timestamp > aheadWaitMs(config)) {
            writes.push(deadLetter(job, aheadReason(event, config), entry));
          } else {
            wait = true;
          }
          break;
        case 'full':
          wait = true;
          break;
        default:
          throw new Error(`unexpected commit outcome ${String(result.outcome)}`);
      }
    }
    if (republish.length > 0) {
      republish.sort((a, b) => a.seq - b.seq);
      writes.push(this.deps.publisher.publish(republish));
    }
    return wait;
  }
}

/** Promises started now and awaited later, each handled from the start. */
class Writes {
  private readonly list: Promise<unknown>[] = [];

  push(p: Promise<unknown>): void {
    p.catch(() => undefined);
    this.list.push(p);
  }

  async all(): Promise<void> {
    await Promise.all(this.list);
  }
}

/** How long a job may wait for its run's head to come within reach of an event's seq. */
function aheadWaitMs(config: AppConfig): number {
  return 2 * config.events.gapTimeoutMs + 5_000;
}

function aheadReason(event: EventEnvelope, config: AppConfig): WireError {
  return {
    code: ErrorCode.InvalidEvent,
    message:
      `seq ${event.seq} of run ${event.runId} stayed more than ${config.events.reorderBufferMax + 1} ahead of ` +
      `the committed head for ${aheadWaitMs(config)} ms (the reorder buffer cannot reach it)`,
    details: { seq: event.seq, reorderBufferMax: config.events.reorderBufferMax },
  };
}

function unregisteredReason(event: EventEnvelope): WireError {
  return {
    code: ErrorCode.NotFound,
    message: `run ${event.runId} is not registered (register it before its first event)`,
    details: { runId: event.runId },
  };
}

function conflictReason(event: EventEnvelope, result: EventCommitResult): WireError {
  const held = result.envelopes[0];
  const where = result.conflictBuffered ? 'buffered' : 'committed';
  return {
    code: ErrorCode.InvalidEvent,
    message:
      held?.type === StandardEventType.Gap
        ? `seq ${event.seq} of run ${event.runId} arrived after it was declared missing (gap event committed)`
        : `seq ${event.seq} of run ${event.runId} is already ${where} with another event id (${held?.id ?? '?'})`,
    details: { committedId: held?.id, committedType: held?.type, held: where },
  };
}
