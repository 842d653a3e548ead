import type { MemberRecord } from '@agent-bridge/protocol';
import {
  DELIVERY_LATENCY_BOUNDS_MS,
  type DeliverySnapshot,
  addLatencyCounts,
  diffDelivery,
  isDeliverySnapshot,
  latencyQuantile,
} from '@agent-bridge/telemetry';

/** The leader as one sample saw it (`id` null: no leader at that moment). */
export interface SampledLeader {
  id: string | null;
  epoch: number | null;
}

/** One point of the status page's charts: the cluster over one sampling interval, ending at `at`. */
export interface OpsSample {
  /** Start of the sampling bucket (epoch ms); also the stream entry id, so unique cluster-wide. */
  at: number;
  /** When the values were read. */
  sampledAt: number;
  /** Live events written to client sockets per second, all gateways (null: no earlier sample to diff). */
  deliveredPerSec: number | null;
  /** Emit→delivery latency over the interval, from the gateways' histograms (null: nothing delivered). */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** The events queue. */
  queue: { waiting: number; active: number; delayed: number; lagMs: number };
  /** Open sockets per live gateway id. */
  connections: Record<string, number>;
  /** Records in the dead-letter queue. */
  deadLetters: number;
  leader: SampledLeader;
  /** Integration state published at that moment (null before the first). */
  state: string | null;
  /** Set when the leader differs from the previous sample's (a new epoch, or no leader any more). */
  leaderChange?: { from: SampledLeader; to: SampledLeader };
}

/** Cumulative counters of one gateway process, kept beside a sample so the next one can diff against it. */
export interface GatewayCounters {
  startedAt: number;
  lastSeen: number;
  delivery: DeliverySnapshot;
}

/** What the sampler reads from Redis for one sample. */
export interface SampleReading {
  now: number;
  gateways: (MemberRecord & { alive: boolean })[];
  queue: { waiting: number; active: number; delayed: number; lagMs: number };
  deadLetters: number;
  leader: SampledLeader;
  state: string | null;
}

/** A stored sample with the raw counters the next sample diffs against. */
export interface StoredSample {
  sample: OpsSample;
  counters: Record<string, GatewayCounters>;
}

/**
 * Turns a reading into a sample, diffing each gateway's cumulative delivery counters against the previous
 * sample's. Rates use each gateway's own heartbeat times (`lastSeen`), so a sample taken late or a
 * heartbeat that lags does not skew them. A gateway that restarted (another `startedAt`) or appeared since
 * the previous sample counts from its start; one with no baseline (first sample) contributes nothing.
 */
export function buildSample(bucket: number, reading: SampleReading, previous: StoredSample | null): StoredSample {
  const counters: Record<string, GatewayCounters> = {};
  const latency = new Array<number>(DELIVERY_LATENCY_BOUNDS_MS.length + 1).fill(0);
  let perSec = 0;
  const connections: Record<string, number> = {};
  for (const g of reading.gateways) {
    if (g.alive) connections[g.id] = typeof g.info['sockets'] === 'number' ? g.info['sockets'] : 0;
    const delivery = g.info['delivery'];
    if (!isDeliverySnapshot(delivery)) continue;
    const current: GatewayCounters = { startedAt: g.startedAt, lastSeen: g.lastSeen, delivery };
    counters[g.id] = current;
    if (!previous) continue;
    const before = previous.counters[g.id];
    let delta: DeliverySnapshot | null = null;
    let elapsedMs = 0;
    if (before && before.startedAt === current.startedAt) {
      delta = diffDelivery(current.delivery, before.delivery);
      elapsedMs = current.lastSeen - before.lastSeen;
    } else if (current.startedAt > previous.sample.sampledAt) {
      delta = current.delivery;
      elapsedMs = current.lastSeen - current.startedAt;
    }
    if (!delta) continue;
    addLatencyCounts(latency, delta.latency);
    if (elapsedMs > 0) perSec += (delta.delivered * 1000) / elapsedMs;
  }
  const prevLeader = previous?.sample.leader;
  const sample: OpsSample = {
    at: bucket,
    sampledAt: reading.now,
    deliveredPerSec: previous ? Math.round(perSec * 10) / 10 : null,
    latencyP50Ms: latencyQuantile(latency, 0.5),
    latencyP99Ms: latencyQuantile(latency, 0.99),
    queue: reading.queue,
    connections,
    deadLetters: reading.deadLetters,
    leader: reading.leader,
    state: reading.state,
  };
  if (prevLeader && (prevLeader.epoch !== reading.leader.epoch || prevLeader.id !== reading.leader.id)) {
    sample.leaderChange = { from: prevLeader, to: reading.leader };
  }
  return { sample, counters };
}
