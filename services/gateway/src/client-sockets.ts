import type { AppConfig } from '@agent-bridge/config';
import {
  type AckError,
  AgentBridgeError,
  type ClientToServerEvents,
  ErrorCode,
  type EventEnvelope,
  ForbiddenError,
  type InterServerEvents,
  type ReauthAck,
  ReauthRequestSchema,
  type ServerToClientEvents,
  type SimpleAck,
  UnauthorizedError,
  UnsubscribeRequestSchema,
  toWireError,
} from '@agent-bridge/protocol';
import { type DeliveryStats, type Logger, metrics, recordDelivery } from '@agent-bridge/telemetry';
import type { Server, Socket } from 'socket.io';
import { type TokenVerifier, clientIp } from '@agent-bridge/auth';
import type { ClientLimits } from './limits/client-limits';
import type { ConnectionCounter, ConnectionSlot } from './limits/connection-counter';
import type { AdapterResync } from './resync';
import { type RunRequests, parse } from './run-requests';
import { TokenExpiryWatch } from './token-expiry';

/** Data kept on each authenticated socket. */
export interface SocketData {
  userId: string;
  /** `exp` of the connection's current token (epoch ms). */
  expiresAtMs: number;
  /** Client IP (see `limits.trustProxyHops`), for the per-IP limits. */
  ip: string;
  /** The connection's slot in the per-user and per-IP connection counts. */
  slot: ConnectionSlot;
}

type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** The gateway's Socket.IO server, typed by the shared event maps. */
export type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** What {@link ClientSockets} works with (owned by the gateway). */
export interface ClientSocketsDeps {
  config: AppConfig;
  verifier: TokenVerifier;
  limits: ClientLimits;
  connections: ConnectionCounter;
  runs: RunRequests;
  resync: AdapterResync;
  /** Live deliveries and their latency, for the membership record. */
  delivery: DeliveryStats;
  logger: Logger;
}

function ackError(err: unknown): AckError {
  return { ok: false, error: toWireError(err) };
}

/**
 * The client side of a gateway: the handshake (IP budget, token, connection slot) and the requests of a
 * connected socket, each rate-limited and answered with a result or a wire error. Bad input from one
 * client gets an error ack and never affects other sockets.
 */
export class ClientSockets {
  constructor(private readonly deps: ClientSocketsDeps) {}

  /** Installs the handshake check and the connection handler on `io`. */
  install(io: GatewayServer): void {
    io.use((socket, next) => {
      this.admit(socket).then(
        () => next(),
        (err: unknown) => {
          const wire = toWireError(err);
          const refusal = new Error(wire.message) as Error & { data: unknown };
          // Redis failing under the limits is no reason for a client to give up its token: it may retry.
          refusal.data =
            err instanceof AgentBridgeError ? wire : { code: ErrorCode.Unavailable, message: 'try again later' };
          next(refusal);
        },
      );
    });
    io.on('connection', (socket) => this.onConnection(socket));
  }

  /**
   * Handshake: the IP's request budget (before any token work), the token, then a slot in the user's and
   * the IP's connection counts. The slot is given back when the connection closes, including one that
   * closes before Socket.IO reports it connected.
   */
  private async admit(socket: GatewaySocket): Promise<void> {
    const { config, limits, verifier, connections } = this.deps;
    const ip = clientIp(socket.handshake.address, socket.handshake.headers, config.limits.trustProxyHops);
    await limits.ipRequest(ip);
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    let verified: { userId: string; expiresAtMs: number };
    try {
      verified = await verifier.verify(token);
    } catch (err) {
      throw err instanceof AgentBridgeError ? err : new UnauthorizedError('invalid token', { cause: err });
    }
    const slot = await connections.acquire(verified.userId, ip);
    socket.data.userId = verified.userId;
    socket.data.expiresAtMs = verified.expiresAtMs;
    socket.data.ip = ip;
    socket.data.slot = slot;
    socket.conn.once('close', () => slot.release());
    if (socket.conn.readyState !== 'open') slot.release();
  }

  private onConnection(socket: GatewaySocket): void {
    const { runs, resync, delivery, logger } = this.deps;
    const userId = socket.data.userId;
    logger.debug({ socket: socket.id, userId }, 'client connected');
    metrics.socketsConnected.add(1);
    // Delivery telemetry per live event written to this socket, in the trace carried by the envelope.
    socket.onAnyOutgoing((event: string, envelope: unknown) => {
      if (event !== 'agent_event') return;
      recordDelivery(envelope as EventEnvelope);
      const ts = (envelope as EventEnvelope).ts;
      if (typeof ts === 'number') delivery.record(Date.now() - ts);
      resync.noteDelivered(envelope as EventEnvelope);
    });
    const expiry = this.watchExpiry(socket);
    socket.on('disconnect', () => {
      metrics.socketsConnected.add(-1);
      expiry.stop();
      socket.data.slot.release();
    });
    socket.on('reauth', (req, ack) => this.handle(socket, ack, () => this.reauth(socket, req, expiry)));
    socket.on('subscribe', (req, ack) => this.handle(socket, ack, () => runs.subscribe(socket, req)));
    socket.on('unsubscribe', (req, ack) =>
      this.handle(socket, ack, async (): Promise<SimpleAck> => {
        const { runId } = parse(UnsubscribeRequestSchema, req, 'unsubscribe request');
        await socket.leave(runs.room(runId));
        return { ok: true };
      }),
    );
    socket.on('start_run', (req, ack) => this.handle(socket, ack, () => runs.startRun(userId, req)));
    socket.on('cancel_run', (req, ack) => this.handle(socket, ack, () => runs.cancelRun(userId, req)));
  }

  /** Warns the socket before its token expires and disconnects it at expiry (unless it re-authenticates). */
  private watchExpiry(socket: GatewaySocket): TokenExpiryWatch {
    const { config, logger } = this.deps;
    const watch = new TokenExpiryWatch(
      {
        warn: (expiresAt) => socket.emit('token_expiring', { expiresAt }),
        expire: (expiresAt) => {
          logger.debug({ socket: socket.id, userId: socket.data.userId }, 'token expired: disconnecting');
          socket.emit('token_expired', { expiresAt });
          socket.disconnect(true);
        },
      },
      { warningMs: config.auth.expiryWarningMs, toleranceMs: config.auth.jwtClockToleranceMs },
    );
    watch.arm(socket.data.expiresAtMs);
    return watch;
  }

  /** `reauth { token }`: a fresh token of the same user moves the connection's expiry. */
  private async reauth(socket: GatewaySocket, req: unknown, watch: TokenExpiryWatch): Promise<ReauthAck> {
    const { token } = parse(ReauthRequestSchema, req, 'reauth request');
    const verified = await this.deps.verifier.verify(token);
    if (verified.userId !== socket.data.userId) {
      throw new ForbiddenError('reauth must keep the user of the connection; connect again to switch users');
    }
    socket.data.expiresAtMs = verified.expiresAtMs;
    watch.arm(verified.expiresAtMs);
    return { ok: true, expiresAt: verified.expiresAtMs };
  }

  /** Rate limit (per user, then per IP), run, and answer with the result or a wire error; never throws into Socket.IO. */
  private handle<T>(socket: GatewaySocket, ack: unknown, work: () => Promise<T>): void {
    const reply = typeof ack === 'function' ? (ack as (res: T | AckError) => void) : () => undefined;
    void (async () => {
      try {
        await this.deps.limits.request(socket.data.userId, socket.data.ip);
        reply(await work());
      } catch (err) {
        if (!(err instanceof AgentBridgeError)) this.deps.logger.error({ err, socket: socket.id }, 'request failed');
        reply(ackError(err));
      }
    })();
  }
}
