import type { EventEnvelope } from '@agent-bridge/protocol';
import { decode } from 'notepack.io';
import { decodeCommitEvents, encodeCommitEvents, packEvent, unpackPublished } from './event-codec';

function envelope(seq: number, over: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    id: `e-${seq}`,
    runId: 'run-codec',
    seq,
    epoch: 0,
    type: 'agent_thinking',
    ts: 1_764_000_000_123 + seq,
    payload: { delta: `tökén ${seq} ✓ "quoted" \\ back`, n: 1.5, list: [1, null, { deep: true }] },
    ...over,
  };
}

describe('event codec (packed arguments of commit-events-3.lua)', () => {
  it('round-trips every field of every event, for batches of 1, 15, 16 and 300 events (array header sizes)', () => {
    for (const n of [1, 15, 16, 300]) {
      const events = Array.from({ length: n }, (_, i) =>
        packEvent(
          envelope(
            i + 1,
            i % 3 === 0 ? { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } : {},
          ),
        ),
      );
      const decoded = decodeCommitEvents(encodeCommitEvents(events));
      expect(decoded).toHaveLength(n);
      expect(decoded).toEqual(events);
    }
  });

  it('encodes a batch of 70,000 events with a 32-bit array header', () => {
    const one = packEvent(envelope(1));
    const buf = encodeCommitEvents(Array.from({ length: 70_000 }, () => one));
    expect(buf[0]).toBe(0xdd);
    const decoded = decodeCommitEvents(buf);
    expect(decoded).toHaveLength(70_000);
    expect(decoded[69_999]).toEqual(one);
  });

  it('round-trips large seqs, long bodies (str16/str32 lengths) and terminal statuses', () => {
    const big = packEvent(envelope(1e12, { payload: { delta: 'x'.repeat(70_000) } }));
    const mid = packEvent(envelope(70_000, { payload: { delta: 'y'.repeat(300) } }));
    const done = packEvent(envelope(3, { type: 'agent_completed', payload: { output: 'ok' } }));
    const cancelled = packEvent(envelope(4, { type: 'agent_error', payload: { code: 'cancelled', message: 'stop' } }));
    const decoded = decodeCommitEvents(encodeCommitEvents([big, mid, done, cancelled]));
    expect(decoded).toEqual([big, mid, done, cancelled]);
    expect(decoded.map((e) => e.status)).toEqual(['', '', 'completed', 'cancelled']);
    expect(decoded[0]?.seq).toBe(1e12);
  });

  it('stores JSON with `id` first and publishes the same envelope (with epoch) as MessagePack', () => {
    const e = envelope(7, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const packed = packEvent(e);
    expect(packed.json.startsWith('{"id":"e-7",')).toBe(true);
    const { epoch: _epoch, ...body } = e;
    expect(JSON.parse(packed.json)).toEqual(body);
    expect(unpackPublished(packed, 42)).toEqual({ ...e, epoch: 42 });
    // The socket.io adapter decodes with notepack: the entries must read back as the same map.
    const map = decode(Buffer.concat([Buffer.from([0x80 + packed.count]), packed.entries])) as unknown;
    expect(map).toEqual(body);
  });

  it('rejects bytes that are not a packed batch', () => {
    expect(() => decodeCommitEvents(Buffer.from([0x91, 0x01]))).toThrow(/6 fields|array/);
    const ok = encodeCommitEvents([packEvent(envelope(1))]);
    expect(() => decodeCommitEvents(Buffer.concat([ok, Buffer.from([0x00])]))).toThrow(/trailing/);
  });

  it('packs the registry status of terminal events (runStatusOfEvent), and "" for the others', () => {
    const as = (type: string, payload: unknown): string => packEvent({ ...envelope(1), type, payload }).status;
    expect(as('agent_thinking', {})).toBe('');
    expect(as('agent_completed', {})).toBe('completed');
    expect(as('agent_error', { code: 'boom' })).toBe('failed');
    expect(as('agent_error', { code: 'cancelled' })).toBe('cancelled');
  });
});
