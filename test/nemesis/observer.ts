import { type EventEnvelope, type KeyLayout, type StateTransition } from '@agent-bridge/protocol';
import { type RedisConnection, readHistory } from '@agent-bridge/redis';
import type { LeaderObservation, SeenEvent } from './history';

/**
 * Polls the leader record (id + fencing epoch) every `intervalMs` and records each change; failures
 * (Redis down during a fault) are skipped. `transitions()` reads the published transition history, each
 * record stamped with the leader id and epoch that wrote it.
 */
export class LeaderObserver {
  readonly observations: LeaderObservation[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;
  private last = '';

  constructor(
    private readonly conn: RedisConnection,
    private readonly keys: KeyLayout,
    private readonly startedAt: number,
  ) {}

  start(intervalMs = 200): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [id, epoch] = await this.conn.hmget(this.keys.leader, 'id', 'epoch');
      if (id && epoch && `${id}@${epoch}` !== this.last) {
        this.last = `${id}@${epoch}`;
        this.observations.push({ at: Date.now() - this.startedAt, leaderId: id, epoch: Number(epoch), source: 'poll' });
      }
    } catch {
      // Redis unreachable during a fault: nothing to observe.
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The published transitions, oldest first. */
  async transitions(): Promise<LeaderObservation[]> {
    const raw = await this.conn.lrange(this.keys.integrationHistory, 0, -1);
    return (
      raw
        .map((r) => JSON.parse(r) as StateTransition)
        .reverse()
        // A record with no leader id was published by a standby through the leaderless script (no leader
        // record existed, guarantee 2.4): it claims no leadership, so it is no evidence for guarantee 2.2.
        .filter((t) => t.leaderId !== '')
        .map((t) => ({
          at: t.at - this.startedAt,
          leaderId: t.leaderId,
          epoch: t.epoch,
          source: 'transition' as const,
        }))
    );
  }
}

/** A run's committed history as stored, all pages (null when the run has no history at all). */
export async function readStored(conn: RedisConnection, keys: KeyLayout, runId: string): Promise<SeenEvent[] | null> {
  const out: SeenEvent[] = [];
  let after = 0;
  for (let page = 0; page < 1_000; page++) {
    const p = await readHistory(conn, keys, runId, after, 1_000);
    if (p.epoch === 0 && p.events.length === 0 && page === 0) return null;
    out.push(
      ...p.events.map((e: EventEnvelope) => ({
        id: e.id,
        seq: e.seq,
        epoch: e.epoch,
        type: e.type,
        payload: JSON.stringify(e.payload),
      })),
    );
    if (!p.hasMore || p.events.length === 0) break;
    after = p.events[p.events.length - 1]!.seq;
  }
  return out;
}
