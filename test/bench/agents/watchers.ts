/**
 * The users watching the runs of one phase: `CLIENTS` connections per side, each subscribed to its runs.
 * agent-bridge: the client SDK (auth, ordering, dedupe, resume); naive: raw socket.io-client.
 */
import { type BridgeClient, connect } from '@agent-bridge/client';
import type { AppConfig } from '@agent-bridge/config';
import { signToken } from '@agent-bridge/auth';
import type { EventEnvelope } from '@agent-bridge/protocol';
import { type Socket, io as ioClient } from 'socket.io-client';
import type { Side } from './messages';
import type { Tally } from './tally';

const CLIENTS = 10;

/** The user (and watcher connection) of the i-th run of a phase. */
export const userOf = (i: number): string => `bench-${i % CLIENTS}`;

export interface Watchers {
  close(): void;
}

export async function watch(
  side: Side,
  url: string,
  config: AppConfig,
  runIds: string[],
  tally: Tally,
): Promise<Watchers> {
  if (side === 'ours') {
    const clients: BridgeClient[] = Array.from({ length: CLIENTS }, (_, u) =>
      connect(url, { token: () => signToken(`bench-${u}`, config.auth) }),
    );
    await Promise.all(runIds.map((runId, i) => clients[i % CLIENTS]!.subscribe(runId, (e) => tally.on(e)).ready));
    return { close: () => clients.forEach((c) => c.close()) };
  }
  const sockets: Socket[] = Array.from({ length: CLIENTS }, () =>
    ioClient(url, { transports: ['websocket'], forceNew: true }),
  );
  for (const s of sockets) s.on('agent_event', (e: EventEnvelope) => tally.on(e));
  await Promise.all(runIds.map((runId, i) => sockets[i % CLIENTS]!.emitWithAck('subscribe', { runId })));
  return { close: () => sockets.forEach((s) => s.disconnect()) };
}
