import type { MemberRecord } from '@agent-bridge/protocol';
import { DeliveryStats } from '@agent-bridge/telemetry';
import { type SampleReading, type StoredSample, buildSample } from './sample';

function gateway(id: string, startedAt: number, lastSeen: number, stats: DeliveryStats, sockets = 1) {
  const rec: MemberRecord & { alive: boolean } = {
    id,
    role: 'gateway',
    host: 'h',
    pid: 1,
    startedAt,
    lastSeen,
    info: { sockets, delivery: stats.snapshot() },
    alive: true,
  };
  return rec;
}

function reading(
  now: number,
  gateways: SampleReading['gateways'],
  leader: SampleReading['leader'] = { id: 'b1', epoch: 1 },
): SampleReading {
  return {
    now,
    gateways,
    queue: { waiting: 3, active: 1, delayed: 0, lagMs: 12 },
    deadLetters: 2,
    leader,
    state: 'ACTIVE',
  };
}

describe('buildSample: one chart point from the gateways’ cumulative counters', () => {
  it('the first sample has no rate; the next diffs each gateway over its own heartbeat times', () => {
    const a = new DeliveryStats();
    const b = new DeliveryStats();
    const first = buildSample(
      10_000,
      reading(10_050, [gateway('g1', 0, 10_000, a, 2), gateway('g2', 0, 9_800, b)]),
      null,
    );
    expect(first.sample.deliveredPerSec).toBeNull();
    expect(first.sample.connections).toEqual({ g1: 2, g2: 1 });
    for (let i = 0; i < 100; i++) a.record(8); // g1: 100 in 5 s = 20/s
    for (let i = 0; i < 40; i++) b.record(400); // g2: 40 in 4 s = 10/s
    const second = buildSample(
      15_000,
      reading(15_050, [gateway('g1', 0, 15_000, a, 2), gateway('g2', 0, 13_800, b)]),
      first,
    );
    expect(second.sample.deliveredPerSec).toBe(30);
    expect(second.sample.latencyP50Ms).toBe(10);
    expect(second.sample.latencyP99Ms).toBe(500);
    expect(second.sample.leaderChange).toBeUndefined();
    expect(second.sample).toMatchObject({ deadLetters: 2, queue: { waiting: 3, lagMs: 12 }, state: 'ACTIVE' });
  });

  it('a restarted gateway counts from its start; one that stopped beating adds nothing', () => {
    const a = new DeliveryStats();
    for (let i = 0; i < 500; i++) a.record(5);
    const before: StoredSample = buildSample(10_000, reading(10_050, [gateway('g1', 0, 10_000, a)]), null);
    const restarted = new DeliveryStats();
    for (let i = 0; i < 20; i++) restarted.record(5);
    const dead = new DeliveryStats();
    const after = buildSample(
      15_000,
      reading(15_050, [gateway('g1', 11_000, 15_000, restarted), { ...gateway('g0', 0, 9_000, dead), alive: false }]),
      { ...before, counters: { ...before.counters, g0: { startedAt: 0, lastSeen: 9_000, delivery: dead.snapshot() } } },
    );
    expect(after.sample.deliveredPerSec).toBe(5); // 20 over 4 s since its start, not 20 − 500
    expect(after.sample.connections).toEqual({ g1: 1 });
  });

  it('records a leader change against the previous sample (lost, then a new epoch)', () => {
    const s1 = buildSample(0, reading(10, [], { id: 'b1', epoch: 3 }), null);
    const s2 = buildSample(5_000, reading(5_010, [], { id: null, epoch: null }), s1);
    const s3 = buildSample(10_000, reading(10_010, [], { id: 'b2', epoch: 4 }), s2);
    expect(s1.sample.leaderChange).toBeUndefined();
    expect(s2.sample.leaderChange).toEqual({ from: { id: 'b1', epoch: 3 }, to: { id: null, epoch: null } });
    expect(s3.sample.leaderChange).toEqual({ from: { id: null, epoch: null }, to: { id: 'b2', epoch: 4 } });
  });
});
