import { join } from 'node:path';
import { type KeyLayout, type LimitScope, TooManyConnectionsError } from '@agent-bridge/protocol';
import { type LoadedScript, type RedisConnection, loadScript, runScript } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';

const LUA = join(__dirname, '..', '..', 'lua');
let scripts: { acquire: LoadedScript; release: LoadedScript; refresh: LoadedScript } | null = null;
function lua(): NonNullable<typeof scripts> {
  scripts ??= {
    acquire: loadScript(join(LUA, 'acquire-connection-2.lua')),
    release: loadScript(join(LUA, 'release-connection-1.lua')),
    refresh: loadScript(join(LUA, 'refresh-connections-2.lua')),
  };
  return scripts;
}

/** Options of a {@link ConnectionCounter}. */
export interface ConnectionCounterOptions {
  /** Data Redis (command role); never closed here. */
  connection: RedisConnection;
  keys: KeyLayout;
  gatewayId: string;
  /** Open connections one user may have over all gateways (0: no limit). */
  userLimit: number;
  /** Open connections from one client IP over all gateways (0: no limit). */
  ipLimit: number;
  /** How often this gateway refreshes its counts (the membership heartbeat interval). */
  refreshIntervalMs: number;
  /** Counts not refreshed for this long stop counting (the membership heartbeat TTL). */
  ttlMs: number;
  logger: Logger;
}

/** A taken connection slot; `release()` gives it back once (further calls do nothing). */
export interface ConnectionSlot {
  release(): void;
}

/**
 * Open connections per user and per client IP, over every gateway of the installation. Each gateway
 * writes only its own count hash in Redis, which expires unless the gateway refreshes it every heartbeat
 * interval: when a gateway crashes, its connections stop counting within `ttlMs` (no leaked slots). The
 * check and the increment are one script, so concurrent connections on different gateways never exceed a
 * limit together. Cost: one script call per connection and per disconnect, one per refresh interval.
 */
export class ConnectionCounter {
  private readonly local = new Map<string, number>();
  private readonly countsKey: string;
  private timer: NodeJS.Timeout | null = null;
  /** A release failed: the hash may hold stale counts until the next refresh rewrites it. */
  private dirty = false;
  private closed = false;

  constructor(private readonly options: ConnectionCounterOptions) {
    this.countsKey = options.keys.connectionCounts(options.gatewayId);
  }

  /** Takes a slot for `userId` from `ip`, or throws {@link TooManyConnectionsError} (Redis errors propagate). */
  async acquire(userId: string, ip: string): Promise<ConnectionSlot> {
    const { keys, gatewayId, ttlMs, userLimit, ipLimit } = this.options;
    const userField = `u:${userId}`;
    const ipField = `ip:${ip}`;
    const res = (await runScript(
      this.options.connection,
      lua().acquire,
      [keys.connectionGateways, this.countsKey],
      [gatewayId, ttlMs, userField, userLimit, ipField, ipLimit, keys.connectionCounts('')],
    )) as [number, string | number, number];
    if (res[0] !== 1) throw new TooManyConnectionsError(res[1] as LimitScope, res[1] === 'user' ? userLimit : ipLimit);
    this.bump(userField, 1);
    this.bump(ipField, 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.bump(userField, -1);
        this.bump(ipField, -1);
        if (this.closed) return;
        runScript(this.options.connection, lua().release, [this.countsKey], [userField, ipField]).catch(
          (err: unknown) => {
            this.dirty = true;
            this.options.logger.warn(
              { err },
              'could not release a connection slot (the next refresh rewrites the counts)',
            );
          },
        );
      },
    };
  }

  /** Starts refreshing this gateway's counts every `refreshIntervalMs`. */
  start(): void {
    if (this.timer || this.closed) return;
    const tick = (): void => {
      this.timer = setTimeout(() => {
        this.refresh()
          .catch((err: unknown) => this.options.logger.warn({ err }, 'connection counts refresh failed'))
          .finally(() => {
            if (!this.closed) tick();
          });
      }, this.options.refreshIntervalMs);
      this.timer.unref();
    };
    tick();
  }

  /** Refreshes the expiry of this gateway's counts; rewrites them from its own truth when they were lost. */
  async refresh(): Promise<void> {
    const { keys, gatewayId, ttlMs } = this.options;
    const rewrite = (): (string | number)[] => [...this.local].flat();
    const keysOf = [keys.connectionGateways, this.countsKey];
    if (this.dirty) {
      this.dirty = false;
      await runScript(this.options.connection, lua().refresh, keysOf, [gatewayId, ttlMs, ...rewrite()]);
      return;
    }
    const exists = await runScript(this.options.connection, lua().refresh, keysOf, [gatewayId, ttlMs]);
    // Expired while this gateway was alive (a pause longer than the TTL, a Redis restart): write it again.
    if (exists === 0 && this.local.size > 0) {
      await runScript(this.options.connection, lua().refresh, keysOf, [gatewayId, ttlMs, ...rewrite()]);
    }
  }

  /** Stops refreshing and removes this gateway's counts (its clients are being disconnected). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const { keys, gatewayId } = this.options;
    await this.options.connection.multi().del(this.countsKey).zrem(keys.connectionGateways, gatewayId).exec();
  }

  private bump(field: string, by: number): void {
    const n = (this.local.get(field) ?? 0) + by;
    if (n > 0) this.local.set(field, n);
    else this.local.delete(field);
  }
}
