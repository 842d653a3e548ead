/**
 * Partitioned event queues (docs/protocol.md "Event queue partitions", decision 0006).
 *
 * With `AB_EVENT_PARTITIONS` = 1 (the default) there is one events queue, `<events>` under the BullMQ prefix
 * `<prefix>:{bull}` — today's name, so existing producers and deployments are unchanged. With N > 1 there are
 * N queues `<events>-<i>` (i = 0 … N-1) under `<prefix>:{bull:<i>}`: each under its own hash tag, so on a
 * Redis Cluster each queue's keys live in one slot (BullMQ's scripts need that) and different queues in
 * different slots (`{bull:0}` … `{bull:2}` fall in the three thirds of the slot space, one per master of a
 * three-master Cluster with the default slot split). A run's events all go to queue
 * {@link eventPartition}(runId, N).
 */

/** Upper bound of `AB_EVENT_PARTITIONS` (each partition is a queue every bridge replica consumes). */
export const MAX_EVENT_PARTITIONS = 64;

/** One events queue: its BullMQ queue name and `prefix` option. */
export interface EventQueueRef {
  /** Index of the partition (0 … count-1). */
  readonly partition: number;
  /** How many partitions this queue is one of. */
  readonly count: number;
  /** BullMQ queue name. */
  readonly name: string;
  /** BullMQ `prefix` option (carries the queue's hash tag). */
  readonly prefix: string;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * 32-bit FNV-1a of the UTF-8 bytes of `text`, as an unsigned integer. Chosen for the partition map because
 * it is a few lines in any language (no table, no library) and spreads short ids well.
 */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    // Math.imul keeps the product in 32 bits, as the definition's multiplication modulo 2^32.
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

function assertCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_EVENT_PARTITIONS) {
    throw new RangeError(`event partition count must be an integer in 1..${MAX_EVENT_PARTITIONS}, got ${count}`);
  }
}

/** The partition of a run: `fnv1a32(runId) mod count` (0 when count is 1). */
export function eventPartition(runId: string, count: number): number {
  assertCount(count);
  return count === 1 ? 0 : fnv1a32(runId) % count;
}

/** The events queues of `count` partitions, in partition order. */
export function eventQueues(keyPrefix: string, eventsQueue: string, count: number): EventQueueRef[] {
  assertCount(count);
  return Array.from({ length: count }, (_, i) => eventQueue(keyPrefix, eventsQueue, count, i));
}

/** Partition `partition` of `count`: one partition keeps the unpartitioned names. */
function eventQueue(keyPrefix: string, eventsQueue: string, count: number, partition: number): EventQueueRef {
  if (count === 1) return { partition: 0, count, name: eventsQueue, prefix: `${keyPrefix}:{bull}` };
  return { partition, count, name: `${eventsQueue}-${partition}`, prefix: `${keyPrefix}:{bull:${partition}}` };
}

/** The events queue a run's events go to. */
export function eventQueueFor(keyPrefix: string, eventsQueue: string, count: number, runId: string): EventQueueRef {
  return eventQueue(keyPrefix, eventsQueue, count, eventPartition(runId, count));
}

/**
 * The queues a bridge consumes: those of `count` partitions, plus — while the count is being changed — those
 * of the previous count (`previous` > 0), which producers still on the old count keep filling until they are
 * rolled and which must be drained (docs/operations.md "Changing the partition count"). A queue in both sets
 * is listed once.
 */
export function consumedEventQueues(
  keyPrefix: string,
  eventsQueue: string,
  count: number,
  previous = 0,
): EventQueueRef[] {
  const out = eventQueues(keyPrefix, eventsQueue, count);
  if (previous > 0 && previous !== count) {
    for (const q of eventQueues(keyPrefix, eventsQueue, previous)) {
      if (!out.some((o) => o.name === q.name && o.prefix === q.prefix)) out.push(q);
    }
  }
  return out;
}
