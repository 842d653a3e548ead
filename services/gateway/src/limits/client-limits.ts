import { join } from 'node:path';
import type { AppConfig } from '@agent-bridge/config';
import {
  type KeyLayout,
  type LimitScope,
  RateLimitedError,
  type RunStatus,
  TooManyRunsError,
  isTerminalRunStatus,
} from '@agent-bridge/protocol';
import { type LoadedScript, type RedisConnection, loadScript, runScript } from '@agent-bridge/redis';
import type { Logger } from '@agent-bridge/telemetry';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

let runSlotScript: LoadedScript | null = null;
// A slot without a registry record is a start_run between taking its slot and registering its run (or a
// run whose record expired): never counted as finished, or a burst of start_run would prune every slot it
// takes. Such a slot ends with its release or its expiry (AB_LIMIT_RUN_SLOT_TTL_MS).

/** A fixed-window limiter of `points` per `windowMs`, or none when `points` is 0. */
interface Window {
  consume(key: string): Promise<void>;
}

/**
 * Rate limits per user and per client IP shared by every gateway (rate-limiter-flexible on Redis), and the
 * concurrent-runs limit per user. Over a limit a request gets a typed error and costs nothing more: a key
 * that went over is blocked in this process's memory until its window ends, so a flood is refused without
 * a Redis call. If Redis fails, each gateway falls back to the same limits in its own memory.
 */
export class ClientLimits {
  private readonly userRequests: Window;
  private readonly ipRequests: Window;
  private readonly userStartRuns: Window;

  constructor(
    private readonly config: AppConfig,
    private readonly connection: RedisConnection,
    private readonly keys: KeyLayout,
    private readonly logger: Logger,
  ) {
    const l = config.limits;
    this.userRequests = this.window('req-user', 'user', l.userRequests, l.requestWindowMs);
    this.ipRequests = this.window('req-ip', 'ip', l.ipRequests, l.requestWindowMs);
    this.userStartRuns = this.window('start-run-user', 'user', l.userStartRuns, l.startRunWindowMs);
  }

  private window(name: string, scope: LimitScope, points: number, windowMs: number): Window {
    if (points === 0) return { consume: () => Promise.resolve() };
    const duration = windowMs / 1_000;
    const limiter = new RateLimiterRedis({
      storeClient: this.connection,
      keyPrefix: this.keys.rateLimit(name),
      points,
      duration,
      inMemoryBlockOnConsumed: points + 1,
      insuranceLimiter: new RateLimiterMemory({ points, duration }),
    });
    return {
      consume: async (key) => {
        try {
          await limiter.consume(key);
        } catch (res) {
          if (res instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, res.msBeforeNext), scope);
          throw res;
        }
      },
    };
  }

  /** One socket request of `userId` from `ip`: the user's budget first, so a flooding user never uses up its IP's. */
  async request(userId: string, ip: string): Promise<void> {
    await this.userRequests.consume(userId);
    await this.ipRequests.consume(ip);
  }

  /** A request before any user is known (connection attempt, HTTP request). */
  ipRequest(ip: string): Promise<void> {
    return this.ipRequests.consume(ip);
  }

  /** The start_run rate of `userId`. */
  startRun(userId: string): Promise<void> {
    return this.userStartRuns.consume(userId);
  }

  /**
   * Takes one of `userId`'s concurrent-run slots for `runId`, or throws {@link TooManyRunsError}. Slots of
   * runs that have finished since are freed on the way (only when the limit is reached: the common case
   * is one script call). Returns the slot's release, for a start_run that failed after taking it.
   */
  async takeRunSlot(userId: string, runId: string): Promise<() => Promise<void>> {
    const { userRuns: limit, runSlotTtlMs } = this.config.limits;
    const key = this.keys.userRunSlots(userId);
    const release = async (): Promise<void> => {
      await this.connection.zrem(key, runId);
    };
    if (limit === 0) return () => Promise.resolve();
    const script = (runSlotScript ??= loadScript(join(__dirname, '..', '..', 'lua', 'acquire-run-slot-1.lua')));
    const take = (): Promise<unknown> => runScript(this.connection, script, [key], [runId, limit, runSlotTtlMs]);
    if ((await take()) === 1) return release;
    if ((await this.pruneFinished(key)) === 0 || (await take()) !== 1) throw new TooManyRunsError(limit);
    return release;
  }

  /** Removes the slots of runs that have ended (or expired); returns how many. */
  private async pruneFinished(key: string): Promise<number> {
    const runIds = await this.connection.zrange(key, '0', '-1');
    if (runIds.length === 0) return 0;
    const statuses = await Promise.all(
      runIds.map((id) => this.connection.hget(this.keys.runMeta(id), 'status') as Promise<RunStatus | null>),
    );
    const done = runIds.filter((_, i) => isTerminalRunStatus(statuses[i]));
    if (done.length === 0) return 0;
    await this.connection.zrem(key, ...done);
    this.logger.debug({ key, freed: done.length }, 'freed run slots of finished runs');
    return done.length;
  }
}
