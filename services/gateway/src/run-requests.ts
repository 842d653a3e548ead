import { randomUUID } from 'node:crypto';
import type { AppConfig } from '@agent-bridge/config';
import {
  CancelRunRequestSchema,
  ForbiddenError,
  IllegalStateError,
  InvalidRequestError,
  JobName,
  type KeyLayout,
  NotFoundError,
  type SimpleAck,
  type StartRunAck,
  StartRunRequestSchema,
  type StartRunJob,
  type SubscribeAck,
  SubscribeRequestSchema,
  describeIssues,
  toIssues,
} from '@agent-bridge/protocol';
import { type RedisConnection, getRun, readHistory, registerRun, requestCancel } from '@agent-bridge/redis';
import { metrics } from '@agent-bridge/telemetry';
import type { Queue } from 'bullmq';
import type { z } from 'zod';
import type { ClientLimits } from './limits/client-limits';
import type { LiveRooms } from './live-rooms';
import { planReplay } from './replay/plan-replay';
import type { AdapterResync } from './resync';

/** Parses a client request, or throws {@link InvalidRequestError} listing every problem. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const res = schema.safeParse(input);
  if (!res.success) {
    const issues = toIssues(res.error);
    throw new InvalidRequestError(`invalid ${what}: ${describeIssues(issues)}`, issues);
  }
  return res.data;
}

/** The part of a socket that run requests need. */
export interface RoomMember {
  data: { userId: string };
  join(room: string): Promise<void> | void;
}

/** What {@link RunRequests} works with (owned by the gateway). */
export interface RunRequestsDeps {
  config: AppConfig;
  command: RedisConnection;
  keys: KeyLayout;
  limits: ClientLimits;
  resync: AdapterResync;
  /** The runs queue once the gateway started. */
  runsQueue: () => Queue | null;
  /** The run rooms of the installation's Pub/Sub mode (once the gateway started). */
  rooms: () => LiveRooms;
}

/**
 * The run requests of a client: `subscribe` (replay + live), `start_run` and `cancel_run`, each authorised
 * against the run's owner in the registry. Stateless apart from the gateway's connections.
 */
export class RunRequests {
  constructor(private readonly deps: RunRequestsDeps) {}

  async authorizeRun(userId: string, runId: string): Promise<{ status: string }> {
    const run = await getRun(this.deps.command, this.deps.keys, runId);
    if (!run) throw new NotFoundError(`run ${runId} not found`);
    if (run.owner !== userId) throw new ForbiddenError(`run ${runId} belongs to another user`);
    return run;
  }

  /** The Socket.IO room of a run (the installation's Pub/Sub mode). */
  room(runId: string): string {
    return this.deps.rooms().room(runId);
  }

  /**
   * `subscribe`: owner only; joins the room, then replays the history page after `afterSeq` as
   * {@link planReplay} decides from one snapshot of the run (head, epoch, status and page in one MULTI).
   * The owner is read before joining, so a socket never sits in another user's room.
   */
  async subscribe(socket: RoomMember, req: unknown): Promise<SubscribeAck> {
    const { runId, afterSeq = 0, epoch } = parse(SubscribeRequestSchema, req, 'subscribe request');
    await this.authorizeRun(socket.data.userId, runId);
    // Join first, then read: an event committed after the read reaches the socket live; one committed
    // before it is in the replay. The overlap is deduped by seq in the client.
    const rooms = this.deps.rooms();
    await socket.join(rooms.room(runId));
    // Sharded: the room's channel subscription must be in effect before the read, during a catch-up too (it
    // listed its rooms before this one existed, so it does not serve it). Not while the subscription is lost
    // (a reconnect resubscribes): the catch-up that follows lists this room and serves it from its mark.
    await this.deps.resync.unlessLost(() => rooms.joined(runId));
    const pageSize = this.deps.config.events.replayPageSize;
    let page = await readHistory(this.deps.command, this.deps.keys, runId, afterSeq, pageSize);
    const plan = planReplay({ afterSeq, epoch }, page);
    // The history afterSeq refers to is gone: replay this incarnation from its start.
    if (plan.action === 'restart') page = await readHistory(this.deps.command, this.deps.keys, runId, 0, pageSize);
    this.deps.resync.noteSubscribed(runId, page.events.at(-1)?.seq ?? page.headSeq, page.epoch);
    metrics.replays.add(1, { recovered: String(plan.recovered) });
    metrics.replayedEvents.add(page.events.length);
    return {
      ok: true,
      runId,
      epoch: page.epoch,
      headSeq: page.headSeq,
      recovered: plan.recovered,
      events: page.events,
      hasMore: page.hasMore,
      status: page.status ?? 'pending',
    };
  }

  /** `start_run`: the user's start rate and concurrent-run slot, then register and enqueue. */
  async startRun(userId: string, req: unknown): Promise<StartRunAck> {
    const { prompt, agent } = parse(StartRunRequestSchema, req, 'start_run request');
    await this.deps.limits.startRun(userId);
    const runId = `run-${randomUUID()}`;
    const releaseSlot = await this.deps.limits.takeRunSlot(userId, runId);
    try {
      return await this.enqueueRun(userId, runId, prompt, agent);
    } catch (err) {
      await releaseSlot().catch(() => undefined);
      throw err;
    }
  }

  async enqueueRun(userId: string, runId: string, prompt: string, agent?: string): Promise<StartRunAck> {
    const job: StartRunJob = {
      runId,
      userId,
      prompt,
      agent: agent ?? 'demo-agent',
      requestedAt: Date.now(),
    };
    // Registered before the job exists, so the owner may subscribe as soon as the ack arrives.
    await registerRun(this.deps.command, this.deps.keys, {
      runId,
      owner: userId,
      agent: job.agent,
      status: 'pending',
    });
    const queue = this.deps.runsQueue();
    if (!queue) throw new IllegalStateError('not running', 'start a run');
    await queue.add(JobName.StartRun, job, {
      jobId: runId,
      removeOnComplete: 1_000,
      removeOnFail: 1_000,
    });
    return { ok: true, runId };
  }

  /** `cancel_run`: owner only. */
  async cancelRun(userId: string, req: unknown): Promise<SimpleAck> {
    const { runId } = parse(CancelRunRequestSchema, req, 'cancel_run request');
    await this.authorizeRun(userId, runId);
    await requestCancel(this.deps.command, this.deps.keys, runId);
    return { ok: true };
  }
}
