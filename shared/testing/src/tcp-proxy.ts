import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { freePort } from './ports';

/** One direction of a proxied connection: chunks wait here while a delay is set, in arrival order. */
interface Lane {
  to: Socket;
  queue: { due: number; data: Buffer }[];
  timer: ReturnType<typeof setTimeout> | null;
}

/**
 * A TCP proxy in front of a local port, for network faults without root: `cut()` drops every
 * connection and refuses new ones, `stall()` keeps connections open but forwards nothing, `delay(ms)`
 * forwards everything late (order kept), `reset()` aborts every open connection with a TCP RST and keeps
 * accepting new ones, `heal()` restores normal forwarding.
 */
export class TcpProxy {
  private mode: 'pass' | 'stall' | 'cut' = 'pass';
  private delayMs = 0;
  private readonly sockets = new Set<Socket>();
  private readonly lanes = new Set<Lane>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const port = await freePort();
    // eslint-disable-next-line prefer-const -- assigned after the server that needs it exists
    let proxy!: TcpProxy;
    const server = createServer((client) => proxy.onConnection(client));
    proxy = new TcpProxy(server, port, targetPort);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Connections currently open through the proxy (client side). */
  get connections(): number {
    return this.sockets.size / 2;
  }

  private onConnection(client: Socket): void {
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    const upstream = createConnection(this.targetPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const toUpstream: Lane = { to: upstream, queue: [], timer: null };
    const toClient: Lane = { to: client, queue: [], timer: null };
    this.lanes.add(toUpstream);
    this.lanes.add(toClient);
    client.on('data', (data: Buffer) => this.forward(toUpstream, data));
    upstream.on('data', (data: Buffer) => this.forward(toClient, data));
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      for (const lane of [toUpstream, toClient]) {
        if (lane.timer) clearTimeout(lane.timer);
        this.lanes.delete(lane);
      }
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  private forward(lane: Lane, data: Buffer): void {
    if (this.mode !== 'pass') return;
    if (this.delayMs <= 0 && lane.queue.length === 0) {
      lane.to.write(data);
      return;
    }
    lane.queue.push({ due: Date.now() + this.delayMs, data });
    this.pump(lane);
  }

  /** Writes every chunk that is due, in order, and sleeps until the next one. */
  private pump(lane: Lane): void {
    if (lane.timer) return;
    const now = Date.now();
    while (lane.queue.length > 0 && lane.queue[0]!.due <= now) {
      const chunk = lane.queue.shift()!;
      if (this.mode === 'pass') lane.to.write(chunk.data);
    }
    const next = lane.queue[0];
    if (next) {
      lane.timer = setTimeout(() => {
        lane.timer = null;
        this.pump(lane);
      }, next.due - now);
    }
  }

  cut(): void {
    this.mode = 'cut';
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  stall(): void {
    this.mode = 'stall';
  }

  /**
   * Forwards every later chunk `ms` late, both ways, keeping the order (a slow link); `delay(0)` ends it.
   * Chunks already waiting keep their due time.
   */
  delay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('delay must be a finite number of ms ≥ 0');
    this.delayMs = ms;
  }

  /**
   * Aborts every open connection with a TCP RST (a peer or middlebox reset), on both sides; new
   * connections are accepted as before.
   */
  reset(): void {
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  /** Back to normal forwarding: no cut, no stall, no delay. */
  heal(): void {
    this.mode = 'pass';
    this.delayMs = 0;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
