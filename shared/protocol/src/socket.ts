import { z } from 'zod';
import type { WireError } from './errors';
import { type EventEnvelope, RunIdSchema, type Same } from './events';

/** `subscribe { runId, afterSeq?, epoch? }`: replay what follows `afterSeq`, then stream live events. */
export const SubscribeRequestSchema = z.object({
  runId: RunIdSchema,
  /** Last seq the client already has; the replay starts after it. Default 0 (everything). */
  afterSeq: z.number().int().nonnegative().optional(),
  /** History epoch the client's `afterSeq` refers to; a different current epoch means history was lost. */
  epoch: z.number().int().nonnegative().optional(),
});
export type SubscribeRequest = z.output<typeof SubscribeRequestSchema>;

export const UnsubscribeRequestSchema = z.object({ runId: RunIdSchema });
export type UnsubscribeRequest = z.output<typeof UnsubscribeRequestSchema>;

/** `start_run { prompt }`: ask an agent to start a run for the authenticated user. */
export const StartRunRequestSchema = z.object({
  prompt: z.string().trim().min(1).max(4000),
  agent: z.string().min(1).max(64).optional(),
});
export type StartRunRequest = z.output<typeof StartRunRequestSchema>;

/** `cancel_run { runId }`: ask the agent running `runId` to stop. */
export const CancelRunRequestSchema = z.object({ runId: RunIdSchema });
export type CancelRunRequest = z.output<typeof CancelRunRequestSchema>;

/** `reauth { token }`: replace the connection's token with a fresh one of the same user before it expires. */
export const ReauthRequestSchema = z.object({ token: z.string().min(1).max(16_384) });
export type ReauthRequest = z.output<typeof ReauthRequestSchema>;

export interface SubscribeOk {
  ok: true;
  runId: string;
  /** Current history epoch of the run (0 when the run has no history yet). */
  epoch: number;
  /** Highest committed seq of the run at the time of the ack. */
  headSeq: number;
  /**
   * False when the client cannot be given a gapless continuation: the history was lost (epoch changed)
   * or trimmed past `afterSeq`. The client should then reload the run from `events`.
   */
  recovered: boolean;
  /** Committed events after `afterSeq`, in seq order, at most one page; more follow if `hasMore`. */
  events: EventEnvelope[];
  /** True when the replay page was full and more history follows `events`. */
  hasMore: boolean;
  /** Status from the run registry. */
  status: RunStatus;
}
export interface AckError {
  ok: false;
  error: WireError;
}
export type SubscribeAck = SubscribeOk | AckError;
export type SimpleAck = { ok: true } | AckError;
export type StartRunAck = { ok: true; runId: string } | AckError;
/** `expiresAt`: the new token's `exp` in epoch ms, now enforced on the connection. */
export type ReauthAck = { ok: true; expiresAt: number } | AckError;
/** Sent with `token_expiring` and `token_expired`. */
export interface TokenExpiryNotice {
  /** The connection's token `exp`, epoch ms. */
  expiresAt: number;
}

/** Socket.IO events a client sends. Every one takes an acknowledgement callback. */
export interface ClientToServerEvents {
  subscribe: (req: SubscribeRequest, ack: (res: SubscribeAck) => void) => void;
  unsubscribe: (req: UnsubscribeRequest, ack: (res: SimpleAck) => void) => void;
  start_run: (req: StartRunRequest, ack: (res: StartRunAck) => void) => void;
  cancel_run: (req: CancelRunRequest, ack: (res: SimpleAck) => void) => void;
  reauth: (req: ReauthRequest, ack: (res: ReauthAck) => void) => void;
}

/** Socket.IO events a gateway sends. */
export interface ServerToClientEvents {
  agent_event: (event: EventEnvelope) => void;
  /** The token expires soon (`AB_TOKEN_EXPIRY_WARNING_MS` before): send `reauth` with a fresh one. */
  token_expiring: (notice: TokenExpiryNotice) => void;
  /** The token expired without `reauth`: the gateway closes the connection right after this. */
  token_expired: (notice: TokenExpiryNotice) => void;
}

/** Events exchanged between gateway nodes and bridge replicas through the Redis adapter. */
export interface InterServerEvents {
  /** End-to-end probe from the leader; each gateway answers on the probe reply channel. */
  probe: (probe: { probeId: string; replyChannel: string }) => void;
}

/**
 * How live events travel between bridges and gateways: `classic` Redis Pub/Sub (PUBLISH, PSUBSCRIBE; a
 * Cluster forwards every message to every node) or `sharded` Pub/Sub (Redis ≥ 7: SPUBLISH, SSUBSCRIBE; a
 * message stays on the shard that owns its channel's slot).
 */
export type PubSubMode = 'classic' | 'sharded';

/**
 * Length of a Socket.IO socket id. The sharded adapter (`@socket.io/redis-adapter`, dynamic mode) takes any
 * room of exactly this length for a socket's own room (`looksLikeASocketId`): it neither subscribes the
 * room's channel nor publishes to it, but uses its main channel `<key>#/#`.
 */
const SOCKET_ID_LENGTH = 20;

/**
 * Socket.IO room that receives a run's events. With sharded Pub/Sub the room is the run's hash tag
 * `{run:<runId>}`: the adapter channel `<key>#/#{run:<runId>}#` then hashes to the slot of the run's keys
 * (`<prefix>:{run:<runId>}:…`), which SPUBLISH inside the commit script requires on a Cluster, and a run's
 * messages stay on the master that holds the run. A run id of 14 characters would make that room 20
 * characters long, which the sharded adapter takes for a socket id and sends on its main channel, in another
 * slot (on a Cluster every commit of the run then failed with "Script attempted to access a non local key"
 * and the run stalled): such a room gets a `.` after the tag (`{run:<runId>}.`, same slot).
 * Classic rooms keep their old name, so a rolling upgrade of a classic deployment changes nothing on the wire.
 */
export function runRoom(runId: string, mode: PubSubMode = 'classic'): string {
  if (mode === 'classic') return `run:${runId}`;
  const room = `{run:${runId}}`;
  return room.length === SOCKET_ID_LENGTH ? `${room}.` : room;
}

/** The run id of a room named by {@link runRoom} (either mode), else null (a socket's own room). */
export function runIdOfRoom(room: unknown): string | null {
  if (typeof room !== 'string') return null;
  if (room.startsWith('run:')) return room.slice(4);
  const sharded = /^\{run:([^{}]+)\}\.?$/.exec(room);
  return sharded?.[1] ?? null;
}

/** Status of a run in the registry (a plain union, so the published client's types need no zod). */
export type RunStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
export const RunStatusSchema = z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']);
const _statusMatchesSchema: Same<RunStatus, z.output<typeof RunStatusSchema>> = true;
