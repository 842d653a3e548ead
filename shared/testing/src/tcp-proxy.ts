import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { freePort } from './ports';

/** One direction of a proxied connection: chunks wait here while a delay is set, in arrival order. */
interface Lane {
  conn: Conn;
  to: Socket;
  queue: { due: number; data: Buffer }[];
  timer: ReturnType<typeof setTimeout> | null;
}

/** One proxied connection. */
interface Conn {
  client: Socket;
  upstream: Socket;
  /** To upstream, to client. */
  lanes: Lane[];
  /** Redis client name from the `CLIENT SETNAME` of its handshake (null until seen). */
  name: string | null;
  /** Start of the client's stream, kept until the name is found (at most {@link SNIFF_BYTES}). */
  sniffed: string;
  /** Forwards nothing any more, without closing (see {@link TcpProxy.blackhole}). */
  blackholed: boolean;
}

/** A fault that applies to the connections whose Redis client name matches, new ones included. */
interface NamedRule {
  mode: 'stall' | 'cut';
  match: RegExp;
}

const SNIFF_BYTES = 4_096;
// RESP of `CLIENT SETNAME <name>` as ioredis sends it in its handshake (`connectionName`).
const SETNAME = /\$7\r\nsetname\r\n\$(\d+)\r\n/i;

/**
 * A TCP proxy in front of a local port, for network faults without root: `cut()` drops every
 * connection and refuses new ones, `stall()` keeps connections open but forwards nothing, `delay(ms)`
 * forwards everything late (order kept), `reset()` aborts every open connection with a TCP RST and keeps
 * accepting new ones, `blackhole()` silences the open connections for good (a half-open link), `heal()`
 * restores normal forwarding.
 *
 * `cut`, `stall`, `reset` and `blackhole` take an optional `match`: the fault then applies only to the
 * connections whose Redis client name (the `CLIENT SETNAME` ioredis sends when `connectionName` is set, as
 * every agent-bridge connection does, e.g. `gateway:<id>:sub`) matches it — so ONE connection of a service
 * (its Pub/Sub subscriber) can fail while its others and every other service run on. A connection is
 * judged as soon as its name passes through.
 */
export class TcpProxy {
  private mode: 'pass' | 'stall' | 'cut' = 'pass';
  private delayMs = 0;
  private readonly conns = new Set<Conn>();
  private readonly rules: NamedRule[] = [];
  private readonly namedDelays: { ms: number; match: RegExp }[] = [];
  private refusedCount = 0;

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
    return this.conns.size;
  }

  /** New connections turned away by a named `cut` so far (each got a TCP RST). */
  get refusals(): number {
    return this.refusedCount;
  }

  /** Redis client names of the open connections (null: not named yet, or never). */
  connectionNames(): (string | null)[] {
    return [...this.conns].map((c) => c.name);
  }

  private onConnection(client: Socket): void {
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    const upstream = createConnection(this.targetPort, '127.0.0.1');
    const conn: Conn = { client, upstream, lanes: [], name: null, sniffed: '', blackholed: false };
    const toUpstream: Lane = { conn, to: upstream, queue: [], timer: null };
    const toClient: Lane = { conn, to: client, queue: [], timer: null };
    conn.lanes.push(toUpstream, toClient);
    this.conns.add(conn);
    client.on('data', (data: Buffer) => {
      this.sniff(conn, data);
      this.forward(toUpstream, data);
    });
    upstream.on('data', (data: Buffer) => this.forward(toClient, data));
    const close = (): void => this.drop(conn);
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  private drop(conn: Conn, rst = false): void {
    for (const s of [conn.client, conn.upstream]) {
      if (rst) s.resetAndDestroy();
      else s.destroy();
    }
    for (const lane of conn.lanes) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = null;
    }
    this.conns.delete(conn);
  }

  /** Finds the connection's Redis client name; a named fault then applies to it at once. */
  private sniff(conn: Conn, data: Buffer): void {
    if (conn.name !== null || conn.sniffed.length >= SNIFF_BYTES) return;
    conn.sniffed += data.toString('latin1', 0, Math.min(data.length, SNIFF_BYTES));
    const m = SETNAME.exec(conn.sniffed);
    if (!m) return;
    const start = m.index + m[0].length;
    const len = Number(m[1]);
    if (conn.sniffed.length < start + len) return;
    conn.name = Buffer.from(conn.sniffed.slice(start, start + len), 'latin1').toString('utf8');
    conn.sniffed = '';
    if (this.ruleFor(conn) === 'cut') {
      // Like a firewall rejecting with a TCP reset: the client sees ECONNRESET.
      this.refusedCount++;
      this.drop(conn, true);
    }
  }

  private ruleFor(conn: Conn): NamedRule['mode'] | null {
    if (conn.name === null) return null;
    let mode: NamedRule['mode'] | null = null;
    for (const rule of this.rules) {
      if (rule.match.test(conn.name)) mode = rule.mode === 'cut' || mode === 'cut' ? 'cut' : 'stall';
    }
    return mode;
  }

  private passes(conn: Conn): boolean {
    return this.mode === 'pass' && !conn.blackholed && this.ruleFor(conn) === null;
  }

  private forward(lane: Lane, data: Buffer): void {
    if (!this.conns.has(lane.conn) || !this.passes(lane.conn)) return;
    const delayMs = this.delayFor(lane.conn);
    if (delayMs <= 0 && lane.queue.length === 0) {
      lane.to.write(data);
      return;
    }
    lane.queue.push({ due: Date.now() + delayMs, data });
    this.pump(lane);
  }

  /** Writes every chunk that is due, in order, and sleeps until the next one. */
  private pump(lane: Lane): void {
    if (lane.timer) return;
    const now = Date.now();
    for (let chunk = lane.queue[0]; chunk !== undefined && chunk.due <= now; chunk = lane.queue[0]) {
      lane.queue.shift();
      if (this.passes(lane.conn)) lane.to.write(chunk.data);
    }
    const next = lane.queue[0];
    if (next) {
      lane.timer = setTimeout(() => {
        lane.timer = null;
        this.pump(lane);
      }, next.due - now);
    }
  }

  /** The longest delay that applies to `conn`: the global one, or a named one matching its client name. */
  private delayFor(conn: Conn): number {
    let ms = this.delayMs;
    for (const rule of this.namedDelays)
      if (conn.name !== null && rule.match.test(conn.name)) ms = Math.max(ms, rule.ms);
    return ms;
  }

  private matching(match: RegExp | undefined): Conn[] {
    return [...this.conns].filter((c) => match === undefined || (c.name !== null && match.test(c.name)));
  }

  /**
   * Drops every connection and refuses new ones. With `match`: drops the connections whose client name
   * matches and resets (TCP RST, counted in {@link refusals}) every new one as soon as it sends a matching
   * name; the others run on.
   */
  cut(match?: RegExp): void {
    if (match === undefined) this.mode = 'cut';
    else this.rules.push({ mode: 'cut', match });
    for (const c of this.matching(match)) this.drop(c);
  }

  /**
   * Keeps connections open but forwards nothing (bytes sent meanwhile are lost). With `match`: only the
   * connections whose client name matches, new ones included once named.
   */
  stall(match?: RegExp): void {
    if (match === undefined) this.mode = 'stall';
    else this.rules.push({ mode: 'stall', match });
  }

  /**
   * Forwards every later chunk `ms` late, both ways, keeping the order (a slow link); `delay(0)` ends it.
   * Chunks already waiting keep their due time. With `match`: only the connections whose client name
   * matches, new ones included once named (their handshake too, from the chunk that names them); `heal()`
   * ends a named delay.
   */
  delay(ms: number, match?: RegExp): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('delay must be a finite number of ms ≥ 0');
    if (match === undefined) this.delayMs = ms;
    else this.namedDelays.push({ ms, match });
  }

  /**
   * Aborts every open connection (or those whose client name matches `match`) with a TCP RST (a peer or
   * middlebox reset), on both sides; new connections are accepted as before.
   */
  reset(match?: RegExp): void {
    for (const c of this.matching(match)) this.drop(c, true);
  }

  /**
   * The open connections (or those whose client name matches `match`) go silent for good, both ways, and
   * stay open: a half-open link after a NAT or firewall dropped its state. Neither end is told; new
   * connections work normally. Only a liveness check (a PING with a deadline) can notice.
   */
  blackhole(match?: RegExp): void {
    for (const c of this.matching(match)) c.blackholed = true;
  }

  /** Back to normal forwarding: no cut, no stall, no delay, no named fault, no blackhole. */
  heal(): void {
    this.mode = 'pass';
    this.delayMs = 0;
    this.rules.length = 0;
    this.namedDelays.length = 0;
    for (const c of this.conns) c.blackholed = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
