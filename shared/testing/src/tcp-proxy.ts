import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { freePort } from './ports';

/**
 * A TCP proxy in front of a local port, for network faults without root: `cut()` drops every
 * connection and refuses new ones, `stall()` keeps connections open but forwards nothing, `heal()`
 * restores normal forwarding.
 */
export class TcpProxy {
  private mode: 'pass' | 'stall' | 'cut' = 'pass';
  private readonly sockets = new Set<Socket>();

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

  private onConnection(client: Socket): void {
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    const upstream = createConnection(this.targetPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const forward = (from: Socket, to: Socket) => (data: Buffer) => {
      if (this.mode === 'pass') to.write(data);
    };
    client.on('data', forward(client, upstream));
    upstream.on('data', forward(upstream, client));
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  cut(): void {
    this.mode = 'cut';
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  stall(): void {
    this.mode = 'stall';
  }

  heal(): void {
    this.mode = 'pass';
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
