import type { AppConfig } from '@agent-bridge/config';
import { IntegrationState, type PublishedState, keyLayout } from '@agent-bridge/protocol';
import type { RedisConnection } from '@agent-bridge/redis';
import type { ManagedChild } from './managed-child';

/** What waiting for the integration needs from the launcher. */
export interface IntegrationWatch {
  /** Deadline for the integration to become ACTIVE. */
  timeoutMs: number;
  /** The launched children: one that exits first fails the wait, with its last output. */
  children: readonly ManagedChild[];
  /** False once the launcher is closing: the wait ends without error (the caller checks its state). */
  isStarting(): boolean;
  /** Prints a launcher line. */
  say(text: string): void;
}

/**
 * Polls the integration state the leader publishes until it is ACTIVE, printing each change. Throws when a
 * child exits first or the deadline passes; an unreadable or missing state counts as not published yet.
 */
export async function waitForActive(
  watcher: RedisConnection,
  config: AppConfig,
  watch: IntegrationWatch,
): Promise<void> {
  const keys = keyLayout(config.keyPrefix);
  const deadline = Date.now() + watch.timeoutMs;
  let last = '';
  while (watch.isStarting()) {
    let published: PublishedState | null = null;
    try {
      const raw = await watcher.get(keys.integrationState);
      published = raw ? (JSON.parse(raw) as PublishedState) : null;
    } catch {
      published = null;
    }
    const now = published
      ? `${published.state}${published.reason ? ` (${published.reason})` : ''}`
      : 'not published yet';
    if (now !== last) {
      watch.say(`integration state: ${now}`);
      last = now;
    }
    if (published?.state === IntegrationState.Active) return;
    const dead = watch.children.find((c) => !c.running);
    if (dead) throw new Error(`${dead.name} exited before the integration became ACTIVE:\n${dead.output.slice(-3000)}`);
    if (Date.now() > deadline) {
      throw new Error(`the integration did not become ACTIVE within ${watch.timeoutMs} ms (last: ${now})`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
