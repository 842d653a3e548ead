import { type Redis, SentinelConnector, type SentinelConnectionOptions } from 'ioredis';

type Address = { host: string; port: number };

/** The parts of ioredis' SentinelConnector this subclass builds on (private in its typings). */
interface SentinelInternals {
  resolveMaster(client: Redis): Promise<Address | null>;
  connectToSentinel(endpoint: { host?: string; port?: number }, options?: Record<string, unknown>): Redis;
  sentinelNatResolve(item: Address | null): Address | null;
}

function field(flat: unknown, name: string): string | undefined {
  if (!Array.isArray(flat)) return undefined;
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return String(flat[i + 1]);
  return undefined;
}

/**
 * Sentinel resolution that follows the NEWEST configuration, not the first Sentinel that answers: after a
 * failover the Sentinels that did not lead it report the old master for a second or two (until the
 * leader's hello messages reach them), and the old master stays a writable master until Sentinel
 * reconfigures it (~10 s). A client that reconnects on `+switch-master` (failoverDetector) and asks a
 * lagging Sentinel lands on the demoted master: it reads a history without the runs registered since the
 * promotion (NOT_FOUND) and writes what will be discarded. So each resolution asks every configured
 * Sentinel (`SENTINEL MASTER <name>`) and connects to the address with the highest `config-epoch`, which
 * each failover increases. Costs one short request per Sentinel per (re)connect.
 */
export class NewestMasterConnector extends SentinelConnector {
  // ioredis hands a Connector its whole options object (ConnectorConstructor takes `unknown`).
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions);
    const self = this as unknown as SentinelInternals;
    const firstAnswer = self.resolveMaster.bind(this);
    self.resolveMaster = async (client: Redis): Promise<Address | null> => {
      const own = await firstAnswer(client);
      const views = await Promise.all((this.options.sentinels ?? []).map((ep) => this.masterView(ep)));
      let best: { addr: Address; epoch: number } | null = null;
      for (const v of views) if (v && (!best || v.epoch > best.epoch)) best = v;
      return best ? self.sentinelNatResolve(best.addr) : own;
    };
  }

  private async masterView(endpoint: {
    host?: string;
    port?: number;
  }): Promise<{ addr: Address; epoch: number } | null> {
    const self = this as unknown as SentinelInternals;
    const timeout = Math.min(this.options.connectTimeout ?? 1_000, 1_000);
    const client = self.connectToSentinel(endpoint, { connectTimeout: timeout, commandTimeout: timeout });
    client.on('error', () => undefined);
    try {
      const flat = await client.call('SENTINEL', 'MASTER', this.options.name ?? '');
      const host = field(flat, 'ip');
      const port = Number(field(flat, 'port'));
      const epoch = Number(field(flat, 'config-epoch'));
      if (!host || !Number.isFinite(port) || !Number.isFinite(epoch)) return null;
      return { addr: { host, port }, epoch };
    } catch {
      return null; // an unreachable Sentinel has no say
    } finally {
      client.disconnect();
    }
  }
}
