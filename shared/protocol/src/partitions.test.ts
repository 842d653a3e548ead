import calculateSlot from 'cluster-key-slot';
import {
  MAX_EVENT_PARTITIONS,
  consumedEventQueues,
  eventPartition,
  eventQueueFor,
  eventQueues,
  fnv1a32,
} from './index';

describe('event queue partitions (docs/protocol.md "Event queue partitions")', () => {
  // The test vectors of docs/protocol.md: a producer in another language must compute the same.
  // ("a" and "foobar" are the published FNV-1a 32-bit vectors.)
  const vectors: [string, number, number, number][] = [
    // run id, fnv1a32, partition of 3, partition of 16
    ['', 0x811c9dc5, 1, 5],
    ['a', 0xe40c292c, 1, 12],
    ['foobar', 0xbf9cf968, 1, 8],
    ['run-1', 0x3c9d57fc, 1, 12],
    ['run-2', 0x3f9d5cb5, 1, 5],
    ['run-3', 0x3e9d5b22, 2, 2],
    ['run-7d0c2a9e-4f1b-4c5e-9a43-1f2e3d4c5b6a', 0xa6cf47f7, 1, 7],
    ['run-é', 0x3c3ef9e1, 2, 1],
  ];

  it.each(vectors)('%j hashes to %i, partition %i of 3 and %i of 16', (runId, hash, of3, of16) => {
    expect(fnv1a32(runId)).toBe(hash);
    expect(eventPartition(runId, 3)).toBe(of3);
    expect(eventPartition(runId, 16)).toBe(of16);
    expect(eventPartition(runId, 1)).toBe(0);
  });

  it('hashes the UTF-8 bytes, not UTF-16 code units', () => {
    // "é" is one UTF-16 unit but two UTF-8 bytes (0xC3 0xA9).
    let h = 0x811c9dc5;
    for (const b of [0x72, 0x75, 0x6e, 0x2d, 0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(fnv1a32('run-é')).toBe(h);
  });

  it('keeps the single queue of today with one partition', () => {
    expect(eventQueues('ab', 'agent-events', 1)).toEqual([
      { partition: 0, count: 1, name: 'agent-events', prefix: 'ab:{bull}' },
    ]);
    expect(eventQueueFor('ab', 'agent-events', 1, 'run-3').name).toBe('agent-events');
  });

  it('names N queues under N hash tags; {bull:0..2} fall in the three thirds of the slot space', () => {
    const qs = eventQueues('ab', 'agent-events', 3);
    expect(qs.map((q) => [q.name, q.prefix])).toEqual([
      ['agent-events-0', 'ab:{bull:0}'],
      ['agent-events-1', 'ab:{bull:1}'],
      ['agent-events-2', 'ab:{bull:2}'],
    ]);
    // The slot of a queue's keys is its hash tag's (calculateSlot honours the tag, as Redis does).
    const thirds = qs.map((q) => Math.floor(calculateSlot(`${q.prefix}:wait`) / (16384 / 3)));
    expect(thirds).toEqual([0, 1, 2]);
    expect(eventQueueFor('ab', 'agent-events', 3, 'run-3').name).toBe('agent-events-2');
  });

  it('spreads runs over the partitions', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3_000; i++) counts[eventPartition(`run-${i}`, 3)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(900);
  });

  it('consumes the previous count too while the count changes, each queue once', () => {
    const names = (qs: { name: string }[]) => qs.map((q) => q.name);
    expect(names(consumedEventQueues('ab', 'agent-events', 3, 1))).toEqual([
      'agent-events-0',
      'agent-events-1',
      'agent-events-2',
      'agent-events',
    ]);
    // 2 → 3: partitions 0 and 1 are the same queues under both counts.
    expect(names(consumedEventQueues('ab', 'agent-events', 3, 2))).toEqual([
      'agent-events-0',
      'agent-events-1',
      'agent-events-2',
    ]);
    expect(names(consumedEventQueues('ab', 'agent-events', 3, 0))).toHaveLength(3);
  });

  it('refuses a count out of range', () => {
    expect(() => eventPartition('r', 0)).toThrow(RangeError);
    expect(() => eventQueues('ab', 'q', MAX_EVENT_PARTITIONS + 1)).toThrow(/1\.\.64/);
    expect(() => eventPartition('r', 1.5)).toThrow(RangeError);
  });
});
