import { type Job, type JobJson, Worker } from 'bullmq';

/** Marker member of the stand-in data of a job whose stored data (or options) is not JSON. */
const MARK = '__agentBridgeUndecodable';

/** What is known of a job whose stored data could not be decoded. */
export interface Undecodable {
  /** Which stored field failed to parse. */
  field: 'data' | 'opts';
  /** The parser's message. */
  error: string;
  /** The first 1 KiB of the stored text. */
  preview: string;
}

/** The undecodable description of a job's data, or null when the data is a normal decoded value. */
export function undecodableOf(data: unknown): Undecodable | null {
  if (data === null || typeof data !== 'object') return null;
  const u = (data as Record<string, unknown>)[MARK];
  return u && typeof u === 'object' ? (u as Undecodable) : null;
}

/**
 * A BullMQ Worker that survives jobs whose stored `data` or `opts` is not JSON (written by a broken or
 * hostile producer in any language). BullMQ parses them when it takes the job; the parse error escapes
 * its loop, the job is never processed, its lock is never renewed, and it cycles stalled ↔ active until
 * maxStalledCount. Here such a job is handed to the processor with stand-in data that
 * {@link undecodableOf} recognises, so the processor can dead-letter it like any other bad input.
 */
export class TolerantWorker extends Worker {
  protected override createJob(data: JobJson, jobId: string): Job {
    try {
      return super.createJob(data, jobId);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      const field: Undecodable['field'] = isJson(data.data) ? 'opts' : 'data';
      // Both are the stored text (the parse failed), whatever JobJson declares for `opts`.
      const raw: unknown = field === 'data' ? data.data : data.opts;
      const stand: Undecodable = {
        field,
        error: err.message,
        preview: typeof raw === 'string' ? raw.slice(0, 1_024) : '',
      };
      return super.createJob(
        {
          ...data,
          data: JSON.stringify({ [MARK]: stand }),
          opts: (field === 'opts' ? '{}' : data.opts) as JobJson['opts'],
        },
        jobId,
      );
    }
  }
}

function isJson(text: string | undefined): boolean {
  try {
    JSON.parse(text || '{}');
    return true;
  } catch {
    return false;
  }
}
