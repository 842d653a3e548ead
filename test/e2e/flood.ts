/**
 * A hostile user for the limits test and bench: many raw Socket.IO connections of one user spread over the
 * gateways, each sending start_run as fast as its acks return. Also one honest user's run, timed.
 */
import type { BridgeClient } from '@agent-bridge/client';
import { type EventEnvelope, TERMINAL_EVENT_TYPES } from '@agent-bridge/protocol';
import { type Socket, io as ioClient } from 'socket.io-client';

export interface FloodConnections {
  sockets: Socket[];
  /** connect_error codes of the refused connections (e.g. TOO_MANY_CONNECTIONS). */
  refused: string[];
  close(): void;
}

/** Opens `count` connections with `token`, round-robin over `urls`; resolves once each connected or was refused. */
export async function openFloodConnections(urls: string[], token: string, count: number): Promise<FloodConnections> {
  const all: Socket[] = [];
  const outcomes = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const s = ioClient(urls[i % urls.length], {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth: { token },
      });
      all.push(s);
      return new Promise<{ socket: Socket; refused?: string }>((resolve) => {
        s.once('connect', () => resolve({ socket: s }));
        s.once('connect_error', (err: Error & { data?: { code?: string } }) =>
          resolve({ socket: s, refused: err.data?.code ?? err.message }),
        );
      });
    }),
  );
  return {
    sockets: outcomes.filter((o) => o.refused === undefined).map((o) => o.socket),
    refused: outcomes.flatMap((o) => (o.refused === undefined ? [] : [o.refused])),
    close: () => all.forEach((s) => s.disconnect()),
  };
}

/** Ack codes of a flood: `ok` or the error code, counted. */
export type CodeCounts = Map<string, number>;

/**
 * Each socket sends start_run back to back (the next as soon as the previous ack came) until it sent
 * `perSocket` requests or `until()` says stop. Resolves with the count of every ack code.
 */
export async function floodStartRuns(
  sockets: Socket[],
  perSocket: number,
  until: () => boolean = () => false,
): Promise<CodeCounts> {
  const counts: CodeCounts = new Map();
  await Promise.all(
    sockets.map(async (s) => {
      for (let i = 0; i < perSocket && !until() && s.connected; i++) {
        let code: string;
        try {
          const ack = (await s.timeout(30_000).emitWithAck('start_run', { prompt: `flood ${i}` })) as {
            ok: boolean;
            error?: { code: string };
          };
          code = ack.ok ? 'ok' : (ack.error?.code ?? 'unknown');
        } catch {
          code = 'timeout';
        }
        counts.set(code, (counts.get(code) ?? 0) + 1);
      }
    }),
  );
  return counts;
}

/** One honest run: start_run, subscribe, until the terminal event; times and the events seen. */
export interface TimedRun {
  runId: string;
  /** start_run ack, first event, terminal event: ms after the request. */
  ackMs: number;
  firstEventMs: number;
  doneMs: number;
  events: EventEnvelope[];
}

export async function timedRun(client: BridgeClient, prompt: string, timeoutMs = 60_000): Promise<TimedRun> {
  const t0 = performance.now();
  const runId = await client.startRun(prompt);
  const ackMs = performance.now() - t0;
  const events: EventEnvelope[] = [];
  let firstEventMs = -1;
  let doneMs = -1;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`run ${runId} did not finish in ${timeoutMs} ms`)), timeoutMs);
    const sub = client.subscribe(runId, (e) => {
      events.push(e);
      if (firstEventMs < 0) firstEventMs = performance.now() - t0;
      if (TERMINAL_EVENT_TYPES.has(e.type)) {
        doneMs = performance.now() - t0;
        clearTimeout(timer);
        void sub.unsubscribe();
        resolve();
      }
    });
    sub.ready.catch((err: unknown) => {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
  return { runId, ackMs, firstEventMs, doneMs, events };
}
