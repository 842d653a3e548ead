import type { AppConfig } from '@agent-bridge/config';
import type { KeyLayout, MemberRecord, PubSubMode } from '@agent-bridge/protocol';
import type { RedisConnection } from './connections';
import { type MemberRole } from './membership';
import { RedisSetupError, type RedisTopology, readTopology } from './topology';
import { versionAtLeast } from './startup-check';

/** Sharded Pub/Sub (SPUBLISH, SSUBSCRIBE) exists from Redis 7.0 on. */
export const SHARDED_PUBSUB_MIN_VERSION: readonly number[] = [7, 0, 0];

/** Field of a member record's `info` naming the Pub/Sub mode the member publishes or subscribes with. */
export const PUBSUB_MODE_FIELD = 'pubsubMode';

/**
 * The Pub/Sub mode `setting` (AB_PUBSUB_MODE) gives on `topology`: `auto` is sharded when every master is
 * Redis ≥ 7, else classic. `sharded` on an older master throws {@link RedisSetupError} naming it.
 *
 * Every process of an installation computes this from the same masters, so in `auto` bridges and gateways
 * agree without talking; {@link checkPubSubAgreement} catches the cases where they cannot (an override set
 * on some processes only, masters upgraded while processes ran, a version without this setting).
 */
export function choosePubSubMode(setting: AppConfig['redis']['pubsubMode'], topology: RedisTopology): PubSubMode {
  if (setting === 'classic') return 'classic';
  const old = topology.masters.filter((m) => !versionAtLeast(m.version, SHARDED_PUBSUB_MIN_VERSION));
  if (old.length === 0) return 'sharded';
  if (setting === 'auto') return 'classic';
  const which = old.map((m) => `${m.address} (${m.version})`).join(', ');
  throw new RedisSetupError(
    `AB_PUBSUB_MODE=sharded needs Redis ≥ ${SHARDED_PUBSUB_MIN_VERSION.join('.')} on every master; older: ${which}`,
  );
}

/** Reads the masters behind `conn` (one INFO each) and chooses the mode (see {@link choosePubSubMode}). */
export async function resolvePubSubMode(
  conn: RedisConnection,
  config: AppConfig,
): Promise<{ mode: PubSubMode; topology: RedisTopology }> {
  const topology = await readTopology(conn, config);
  return { mode: choosePubSubMode(config.redis.pubsubMode, topology), topology };
}

/**
 * Refuses to start a process whose Pub/Sub mode differs from that of a live bridge or gateway: a sharded
 * publish never reaches a classic subscriber and the other way round, so the runs would stream nothing.
 * A live member record without the field comes from a version that only knew classic Pub/Sub.
 *
 * Two processes with different modes starting at the same instant can both pass; the leader's end-to-end
 * probe travels in the bridge's mode, so a gateway in the other mode then fails it (integration health).
 * Cost: two reads per role, once at start.
 */
export async function checkPubSubAgreement(
  conn: RedisConnection,
  keys: KeyLayout,
  mode: PubSubMode,
  selfId: string,
): Promise<void> {
  const others: string[] = [];
  for (const role of ['bridge', 'gateway'] as MemberRole[]) {
    const ids = (await conn.zrangebyscore(keys.members(role), `(${Date.now()}`, '+inf')).filter((id) => id !== selfId);
    if (ids.length === 0) continue;
    const raws = await conn.hmget(keys.memberRecords(role), ...ids);
    raws.forEach((raw, i) => {
      if (raw === null) return;
      // Written by any version of either service: only `info` is read, and an older one may lack it.
      let rec: Partial<Pick<MemberRecord, 'info'>>;
      try {
        rec = JSON.parse(raw) as Partial<Pick<MemberRecord, 'info'>>;
      } catch {
        return;
      }
      const theirs = rec.info?.[PUBSUB_MODE_FIELD] ?? 'classic';
      if (theirs !== mode) {
        others.push(`${role} ${ids[i] ?? '?'} (${typeof theirs === 'string' ? theirs : JSON.stringify(theirs)})`);
      }
    });
  }
  if (others.length > 0) {
    throw new RedisSetupError(
      `Pub/Sub mode ${mode} differs from live members: ${others.join(', ')}. Bridges and gateways must use one ` +
        'mode (AB_PUBSUB_MODE; auto picks sharded on Redis ≥ 7): restart them all with the same setting.',
    );
  }
}
