import { randomUUID } from 'node:crypto';
import type { AgentPublisher, RunHandle } from '@agent-bridge/agent-sdk';
import { type BridgeClient, type ClientStats, connect } from '@agent-bridge/client';
import type { AppConfig } from '@agent-bridge/config';
import { signToken } from '@agent-bridge/auth';
import type { EventEnvelope } from '@agent-bridge/protocol';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Socket, io as ioClient } from 'socket.io-client';
import type { Tally } from './tally';

/** Client connections of each pipeline; the runs are spread over them. */
export const CLIENTS = 10;
export const PAYLOAD = { delta: 'x'.repeat(200) };

export /** A pipeline under test: subscribes runs, emits one event of a run, tears down. */
interface Pipeline {
  name: string;
  /** Worker (bridge replica / naive worker) and gateway processes, for CPU accounting. */
  pids: { worker: number; gateway: number };
  prepare(runIds: string[], tally: Tally): Promise<void>;
  /** Emits one event for each listed run (in order); resolves when accepted by the producer. */
  emit(runIds: string[]): Promise<void>;
  /** Tears down the scenario's clients; may return a note on what the client SDK absorbed. */
  finish(): string | undefined;
}

/** agent-bridge: agent SDK → events queue → bridge replica → Redis adapter → gateway → client SDK. */
export function ours(
  config: AppConfig,
  gatewayUrl: string,
  publisher: AgentPublisher,
  pids: Pipeline['pids'],
): Pipeline {
  let handles = new Map<string, RunHandle>();
  let clients: BridgeClient[] = [];
  return {
    name: 'agent-bridge',
    pids,
    async prepare(runIds, tally) {
      handles = new Map();
      for (const [i, runId] of runIds.entries()) {
        handles.set(runId, await publisher.startRun({ userId: `bench-${i % CLIENTS}`, agent: 'bench', runId }));
      }
      clients = Array.from({ length: CLIENTS }, (_, u) =>
        connect(gatewayUrl, { token: () => signToken(`bench-${u}`, config.auth) }),
      );
      await Promise.all(runIds.map((runId, i) => clients[i % CLIENTS]!.subscribe(runId, (e) => tally.on(e)).ready));
    },
    async emit(runIds) {
      await Promise.all(runIds.map((runId) => handles.get(runId)!.emit('agent_thinking', PAYLOAD)));
    },
    finish() {
      for (const h of handles.values()) h.close();
      const stats = clients.map((c) => c.stats());
      for (const c of clients) c.close();
      const t = (k: keyof ClientStats): number => stats.reduce((n, s) => n + s[k], 0);
      return (
        `client SDK absorbed: ${t('duplicatesDropped')} duplicate/overlap deliveries, ${t('earlyArrivals')} early ` +
        `(out-of-order) arrivals, ${t('gapFills')} gap fills; ${t('liveEvents')} live + ${t('replayedEvents')} replayed events on the wire`
      );
    },
  };
}

/**
 * The naive glue: a BullMQ worker calling `io.to(room).emit` through the Socket.IO Redis adapter, raw
 * socket.io-client subscribers; no commit, no ordering, no replay.
 */
export function naive(redisUrl: string, gatewayUrl: string, pids: Pipeline['pids']): Pipeline {
  const url = new URL(redisUrl);
  const conn = new Redis({ host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null });
  const queue = new Queue('naive-events', { connection: conn, prefix: 'naive:{bull}' });
  let sockets: Socket[] = [];
  const seqs = new Map<string, number>();
  return {
    name: 'naive glue',
    pids,
    async prepare(runIds, tally) {
      sockets = Array.from({ length: CLIENTS }, () =>
        ioClient(gatewayUrl, { transports: ['websocket'], forceNew: true }),
      );
      for (const s of sockets) s.on('agent_event', (e: EventEnvelope) => tally.on(e));
      await Promise.all(runIds.map((runId, i) => sockets[i % CLIENTS]!.emitWithAck('subscribe', { runId })));
    },
    async emit(runIds) {
      const jobs = runIds.map((runId) => {
        const seq = (seqs.get(runId) ?? 0) + 1;
        seqs.set(runId, seq);
        const event: EventEnvelope = {
          id: `evt-${randomUUID()}`,
          runId,
          seq,
          epoch: 0,
          type: 'agent_thinking',
          ts: Date.now(),
          payload: PAYLOAD,
        };
        return { name: 'event', data: event, opts: { removeOnComplete: { count: 1_000 } } };
      });
      await queue.addBulk(jobs);
    },
    finish() {
      for (const s of sockets) s.disconnect();
      return undefined;
    },
  };
}
