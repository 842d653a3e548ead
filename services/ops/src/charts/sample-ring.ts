import type { RedisConnection } from '@agent-bridge/redis';
import type { GatewayCounters, OpsSample, StoredSample } from './sample';

/**
 * The chart ring: a Redis stream the ops service owns (`keys.opsSamples`), one entry per sampling bucket.
 *
 * Why a stream: the entry id is the bucket's start (`<ms>-0`) and Redis refuses an id that is not above the
 * last one, so when several ops replicas sample the same bucket exactly one write wins — idempotent per
 * bucket with no lease and no extra round trip. `MINID` trims by age on every write, so the ring holds the
 * chart window and no more (≈ window / interval entries, 180 at the defaults, a few hundred bytes each);
 * a `PEXPIRE` of twice the window removes it when no ops service runs at all. Needs Redis ≥ 6.2 (MINID).
 *
 * Each entry has two fields: `s`, the sample the page draws, and `c`, the gateways' raw cumulative
 * counters the next sample diffs against (so any replica can take the next sample).
 */
export class SampleRing {
  constructor(
    private readonly conn: RedisConnection,
    private readonly key: string,
    private readonly windowMs: number,
  ) {}

  /** The newest stored sample with its counters, or null when the ring is empty. */
  async last(): Promise<StoredSample | null> {
    const entries = await this.conn.xrevrange(this.key, '+', '-', 'COUNT', 1);
    const fields = entries[0]?.[1];
    return fields ? decode(fields) : null;
  }

  /**
   * Stores `stored` under its bucket. Resolves false when that bucket (or a later one) is already there:
   * another replica sampled it first.
   */
  async append(stored: StoredSample): Promise<boolean> {
    const { sample, counters } = stored;
    const res = await this.conn
      .multi()
      .xadd(
        this.key,
        'MINID',
        '=',
        String(sample.at - this.windowMs),
        `${sample.at}-0`,
        's',
        JSON.stringify(sample),
        'c',
        JSON.stringify(counters),
      )
      .pexpire(this.key, this.windowMs * 2)
      .exec();
    const err = res?.[0]?.[0];
    if (err) {
      if (/equal or smaller/i.test(err.message)) return false;
      throw err;
    }
    return true;
  }

  /** Samples with a bucket after `afterMs` (all of the window with 0), oldest first. */
  async since(afterMs = 0): Promise<OpsSample[]> {
    const entries = await this.conn.xrange(this.key, String(Math.max(0, Math.floor(afterMs)) + 1), '+');
    const out: OpsSample[] = [];
    for (const [, fields] of entries) {
      const stored = decode(fields);
      if (stored) out.push(stored.sample);
    }
    return out;
  }
}

function decode(fields: string[]): StoredSample | null {
  let sample: OpsSample | null = null;
  let counters: Record<string, GatewayCounters> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    try {
      if (fields[i] === 's') sample = JSON.parse(fields[i + 1] as string) as OpsSample;
      else if (fields[i] === 'c') counters = JSON.parse(fields[i + 1] as string) as Record<string, GatewayCounters>;
    } catch {
      // An unreadable entry is skipped; the next sample simply has no baseline.
    }
  }
  return sample ? { sample, counters } : null;
}
