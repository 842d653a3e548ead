/** Message on `keys.leaderChannel`. */
export interface LeaderAnnouncement {
  type: 'elected' | 'released';
  id: string;
  epoch: number;
  at: number;
}

/** The message announcing that `id` was elected with, or released, `epoch`. */
export function announcement(type: LeaderAnnouncement['type'], id: string, epoch: number): string {
  const a: LeaderAnnouncement = { type, id, epoch, at: Date.now() };
  return JSON.stringify(a);
}

/** What an announcement means to a replica: nothing, wake the standby loop, or end our term. */
export type AnnouncementEffect = { kind: 'ignore' } | { kind: 'wake' } | { kind: 'lose'; reason: string };

/**
 * What `message` means to replica `selfId`, leading with `termEpoch` (null on a standby): a newer epoch
 * elected elsewhere ends our term (someone else holds the lease now: carrying on would split the brain);
 * a release wakes a standby to try at once instead of after its retry delay. Malformed messages and our
 * own releases are ignored.
 */
export function announcementEffect(message: string, selfId: string, termEpoch: number | null): AnnouncementEffect {
  const a = parseAnnouncement(message);
  if (!a || (a.id === selfId && a.type === 'released')) return { kind: 'ignore' };
  if (a.type === 'elected' && termEpoch !== null && a.epoch > termEpoch) {
    return { kind: 'lose', reason: `replica ${a.id} was elected with newer epoch ${a.epoch}` };
  }
  if (a.type === 'released' && termEpoch === null) return { kind: 'wake' };
  return { kind: 'ignore' };
}

function parseAnnouncement(message: string): LeaderAnnouncement | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const a = value as Partial<LeaderAnnouncement>;
  if (a.type !== 'elected' && a.type !== 'released') return null;
  if (typeof a.id !== 'string' || typeof a.epoch !== 'number') return null;
  return { type: a.type, id: a.id, epoch: a.epoch, at: typeof a.at === 'number' ? a.at : 0 };
}
