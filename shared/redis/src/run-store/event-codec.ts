import { type EventEnvelope, type RunStatus, runStatusOfEvent } from '@agent-bridge/protocol';
import { Packr } from 'msgpackr';

/**
 * The packed per-event argument of the commit script (`lua/commit-events-3.lua`, ARGV[9]): one MessagePack
 * array of `[seq, id, status, json body, map entries, entry count]` per event, which the script decodes
 * with `cmsgpack.unpack`. The envelope travels twice on purpose: as JSON (what the history stores and
 * readers parse) and as MessagePack map entries (what the script publishes to the Socket.IO room after
 * putting the history `epoch` in front), so the script never has to convert between the two.
 */

/** One event as the commit script receives it. */
export interface PackedEvent {
  seq: number;
  id: string;
  /** The registry status the event moves its run to: '' for none. */
  status: RunStatus | '';
  /** The envelope JSON without `epoch`, members in a fixed order, `id` first. */
  json: string;
  /** The same envelope as a MessagePack map without its header bytes. */
  entries: Buffer;
  /** Number of entries of that map. */
  count: number;
}

// Plain MessagePack (no msgpackr records or structures: cmsgpack and notepack must read it).
const packr = new Packr({ useRecords: false, variableMapSize: true });

/** The envelope as stored (without `epoch`, which the script stamps), members in a fixed order, `id` first. */
function envelopeObject(event: EventEnvelope): Omit<EventEnvelope, 'epoch'> {
  const body: Omit<EventEnvelope, 'epoch'> = {
    id: event.id,
    runId: event.runId,
    seq: event.seq,
    type: event.type,
    ts: event.ts,
    payload: event.payload ?? null,
  };
  if (event.traceparent !== undefined) body.traceparent = event.traceparent;
  return body;
}

/** Length of a MessagePack map header (fixmap, map16, map32) and the map's entry count. */
function mapHeader(packed: Uint8Array): { length: number; count: number } {
  const h = packed[0] ?? 0;
  if (h >= 0x80 && h <= 0x8f) return { length: 1, count: h - 0x80 };
  if (h === 0xde) return { length: 3, count: ((packed[1] ?? 0) << 8) | (packed[2] ?? 0) };
  throw new Error('envelope did not encode as a MessagePack map');
}

/** One event in the form the commit script takes. Cost: one JSON.stringify and one MessagePack encode. */
export function packEvent(event: EventEnvelope): PackedEvent {
  const body = envelopeObject(event);
  const packed = packr.pack(body);
  const { length, count } = mapHeader(packed);
  // The script adds `epoch` and writes a fixmap header: at most 14 entries here (the envelope has 7).
  if (count > 14) throw new Error('envelope has too many members');
  return {
    seq: event.seq,
    id: event.id,
    // '' (no change) in the script's argument for an event that is not terminal.
    status: runStatusOfEvent(event) ?? '',
    json: JSON.stringify(body),
    entries: packed.subarray(length),
    count,
  };
}

/** A MessagePack array header for `n` elements. */
function arrayHeader(n: number): Buffer {
  if (n < 16) return Buffer.from([0x90 + n]);
  if (n < 0x10000) return Buffer.from([0xdc, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xdd;
  b.writeUInt32BE(n, 1);
  return b;
}

/** A MessagePack str header for `n` bytes (Redis's cmsgpack reads no bin types: raw bytes travel as str). */
function strHeader(n: number): Buffer {
  if (n < 32) return Buffer.from([0xa0 + n]);
  if (n < 0x100) return Buffer.from([0xd9, n]);
  if (n < 0x10000) return Buffer.from([0xda, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xdb;
  b.writeUInt32BE(n, 1);
  return b;
}

/**
 * Encodes the events of one commit call (ARGV[9] of the script, mode `commit`): an array of
 * `[seq, id, status, json, entries, count]`, scalars and strings encoded by msgpackr, the map entries as a
 * raw str (cmsgpack, the decoder in Redis, has no bin types).
 */
export function encodeCommitEvents(events: readonly PackedEvent[]): Buffer {
  const parts: Uint8Array[] = [arrayHeader(events.length)];
  for (const e of events) {
    parts.push(
      arrayHeader(6),
      packr.pack(e.seq),
      packr.pack(e.id),
      packr.pack(e.status),
      packr.pack(e.json),
      strHeader(e.entries.length),
      e.entries,
      packr.pack(e.count),
    );
  }
  return Buffer.concat(parts);
}

/** A minimal MessagePack reader for what {@link encodeCommitEvents} writes (strs as raw bytes). */
class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  private length(h: number, fix: number, fixMax: number, w8: number, w16: number, w32: number): number | null {
    const b = this.buf;
    if (h >= fix && h <= fixMax) return h - fix;
    if (h === w8) return b.readUInt8(this.pos++);
    if (h === w16) return ((this.pos += 2), b.readUInt16BE(this.pos - 2));
    if (h === w32) return ((this.pos += 4), b.readUInt32BE(this.pos - 4));
    return null;
  }

  array(): number {
    const h = this.buf.readUInt8(this.pos++);
    const n = this.length(h, 0x90, 0x9f, -1, 0xdc, 0xdd);
    if (n === null) throw new Error(`expected a MessagePack array at ${this.pos - 1}`);
    return n;
  }

  raw(): Buffer {
    const h = this.buf.readUInt8(this.pos++);
    const n = this.length(h, 0xa0, 0xbf, 0xd9, 0xda, 0xdb);
    if (n === null) throw new Error(`expected a MessagePack str at ${this.pos - 1}`);
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }

  number(): number {
    const b = this.buf;
    const h = b.readUInt8(this.pos++);
    if (h <= 0x7f) return h;
    const read: Record<number, [number, () => number]> = {
      0xcc: [1, () => b.readUInt8(this.pos)],
      0xcd: [2, () => b.readUInt16BE(this.pos)],
      0xce: [4, () => b.readUInt32BE(this.pos)],
      0xcf: [8, () => Number(b.readBigUInt64BE(this.pos))],
      0xcb: [8, () => b.readDoubleBE(this.pos)],
      0xca: [4, () => b.readFloatBE(this.pos)],
    };
    const r = read[h];
    if (!r) throw new Error(`expected a MessagePack number at ${this.pos - 1}`);
    const v = r[1]();
    this.pos += r[0];
    return v;
  }
}

/** Decodes {@link encodeCommitEvents} (what the script sees; for tests and tools). */
export function decodeCommitEvents(buf: Buffer): PackedEvent[] {
  const r = new Reader(buf);
  const out: PackedEvent[] = [];
  for (let n = r.array(), i = 0; i < n; i++) {
    if (r.array() !== 6) throw new Error('expected 6 fields per event');
    out.push({
      seq: r.number(),
      id: r.raw().toString('utf8'),
      status: r.raw().toString('utf8') as RunStatus | '',
      json: r.raw().toString('utf8'),
      entries: Buffer.from(r.raw()),
      count: r.number(),
    });
  }
  if (r.pos !== buf.length) throw new Error('trailing bytes after the events');
  return out;
}

/** Encodes the argument of a gap sweep (ARGV[9] of the script, mode `gap`). */
export function encodeGapArgs(args: { gapTimeoutMs: number; reason: string; most: number; idPrefix: string }): Buffer {
  return packr.pack([args.gapTimeoutMs, args.reason, args.most, args.idPrefix]);
}

/** Rebuilds the envelope (with `epoch`) the script publishes for a packed event (for tests). */
export function unpackPublished(event: PackedEvent, epoch: number): EventEnvelope {
  const header = Buffer.from([0x80 + event.count]);
  const body = packr.unpack(Buffer.concat([header, event.entries])) as Omit<EventEnvelope, 'epoch'>;
  return { epoch, ...body };
}
