import type { RunHandle } from '@agent-bridge/agent-sdk';
import type { AppConfig } from '@agent-bridge/config';
import {
  IllegalStateError,
  JobName,
  type StartRunJob,
  StartRunJobSchema,
  describeIssues,
  keyLayout,
  toIssues,
} from '@agent-bridge/protocol';
import { type RedisConnection, closeRedis, createRedis } from '@agent-bridge/redis';
import { Lifecycle, type LifecycleState } from '@agent-bridge/runtime';
import type { Logger } from '@agent-bridge/telemetry';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { type AgentOutcome, type AgentRunEvents, runAgent } from './agent';
import { type Doc, loadDocs } from './tools/search';

/** What the service needs from the agent SDK's publisher (an `AgentPublisher`). */
export interface RunStarter {
  startRun(options: { userId: string; agent: string; runId?: string }): Promise<RunHandle>;
}

/** Options of {@link DemoAgentService}. */
export interface DemoAgentServiceOptions {
  config: AppConfig;
  logger: Logger;
  /** The agent SDK publisher the runs are published through; the caller owns (and closes) it. */
  publisher: RunStarter;
  /** Documents of the search tool. @defaultValue the shipped `docs/` folder */
  docs?: readonly Doc[];
  /** Pause between thinking deltas. @defaultValue `config.demoAgent.paceMs` */
  paceMs?: number;
  /** Runs executed at once. @defaultValue `config.demoAgent.concurrency` */
  concurrency?: number;
}

/** Lifecycle of a {@link DemoAgentService}. */
export type DemoAgentServiceState = LifecycleState;

/** Counters for health endpoints and tests. */
export interface DemoAgentServiceStatus {
  state: DemoAgentServiceState;
  active: number;
  completed: number;
  cancelled: number;
  failed: number;
}

/**
 * Skips the first `skip` events of a deterministic run: a run that was already partly published by a
 * process that died (BullMQ hands its stalled job to another worker) continues where the history stands,
 * instead of publishing the same steps twice under new seqs.
 */
function resumeFrom(handle: RunHandle, skip: number): AgentRunEvents {
  let index = 0;
  const pass = <T>(emit: () => Promise<T>): Promise<unknown> => (++index <= skip ? Promise.resolve() : emit());
  return {
    thinking: (delta) => pass(() => handle.thinking(delta)),
    toolExecuting: (call) => pass(() => handle.toolExecuting(call)),
    toolCompleted: (call) => pass(() => handle.toolCompleted(call)),
    complete: (output) => pass(() => handle.complete(output)),
  };
}

/**
 * The demo agent as a service: a BullMQ worker on the runs queue (`config.queues.runs`) executes each
 * `start_run` job as a run of the agent SDK — `agent_started`, thinking streamed as small deltas, a
 * `tool_executing` / `tool_completed` pair per tool call, then `agent_completed` with the answer.
 * A user's `cancel_run` aborts the run at its next event and records `agent_error { code: "cancelled" }`;
 * a failure is reported as `agent_error`. Scales horizontally: run as many processes as you like.
 */
export class DemoAgentService {
  /** close() does not wait for a start: it closes the worker, which ends a wait for Redis. */
  private readonly lifecycle = new Lifecycle({ closeWaitsForStart: false });
  private worker: Worker<StartRunJob> | null = null;
  private connection: RedisConnection | null = null;
  private readonly docs: readonly Doc[];
  private readonly counts = { active: 0, completed: 0, cancelled: 0, failed: 0 };

  constructor(private readonly options: DemoAgentServiceOptions) {
    this.docs = options.docs ?? loadDocs();
  }

  /** Starts consuming `start_run` jobs. Idempotent (later calls share the first one's promise). */
  start(): Promise<void> {
    if (this.lifecycle.isClosing) {
      return Promise.reject(new IllegalStateError(this.lifecycle.state, 'start the demo agent'));
    }
    return this.lifecycle.start(() => this.open());
  }

  private async open(): Promise<void> {
    const { config, logger } = this.options;
    const keys = keyLayout(config.keyPrefix);
    this.connection = createRedis(config, 'worker', { name: 'demo-agent-worker' });
    this.worker = new Worker<StartRunJob>(config.queues.runs, (job) => this.process(job), {
      connection: this.connection,
      prefix: keys.bullPrefix,
      concurrency: this.options.concurrency ?? config.demoAgent.concurrency,
      autorun: false,
    });
    this.worker.on('error', (err) => logger.warn({ err: err.message }, 'runs worker error'));
    this.worker.on('failed', (job, err) => logger.warn({ jobId: job?.id, err: err.message }, 'start_run job failed'));
    void this.worker.run().catch((err: unknown) => logger.error({ err }, 'runs worker stopped'));
    await this.worker.waitUntilReady();
    logger.info({ queue: config.queues.runs, concurrency: this.worker.concurrency }, 'demo agent consuming runs');
  }

  /** Current state and counters. */
  getStatus(): DemoAgentServiceStatus {
    return { state: this.lifecycle.state, ...this.counts };
  }

  private async process(job: Job<StartRunJob>): Promise<{ status: string }> {
    const { logger, publisher, config } = this.options;
    if (job.name !== JobName.StartRun) throw new UnrecoverableError(`unknown job ${job.name}`);
    const parsed = StartRunJobSchema.safeParse(job.data);
    if (!parsed.success) {
      // Without a valid run id and user there is no run to report the error to: fail the job visibly.
      throw new UnrecoverableError(`invalid start_run job: ${describeIssues(toIssues(parsed.error))}`);
    }
    const req = parsed.data;
    let handle: RunHandle;
    try {
      handle = await publisher.startRun({ userId: req.userId, agent: config.demoAgent.name, runId: req.runId });
    } catch (err) {
      if (err instanceof IllegalStateError) {
        // The run already ended (a retried job): nothing left to do.
        logger.info({ runId: req.runId, reason: err.message }, 'run already ended; job skipped');
        return { status: 'skipped' };
      }
      throw err;
    }
    this.counts.active++;
    const log = logger.child({ runId: req.runId });
    try {
      const resumed = handle.lastSeq;
      if (resumed === 0) await handle.started({ prompt: req.prompt });
      else log.warn({ lastSeq: resumed }, 'resuming a run another process had started');
      const outcome: AgentOutcome = await runAgent(
        resumed === 0 ? handle : resumeFrom(handle, resumed - 1),
        req.prompt,
        { docs: this.docs, paceMs: this.options.paceMs ?? config.demoAgent.paceMs, signal: handle.signal },
      );
      if (outcome.status === 'cancelled') {
        await handle.cancel();
        this.counts.cancelled++;
        log.info('run cancelled');
      } else {
        this.counts.completed++;
        log.info('run completed');
      }
      return { status: outcome.status };
    } catch (err) {
      this.counts.failed++;
      const message = err instanceof Error ? err.message : String(err);
      log.error({ err: message }, 'run failed');
      if (!handle.ended) {
        await handle
          .fail(`the demo agent failed: ${message}`, 'agent_failed')
          .catch((e: unknown) => log.error({ err: (e as Error).message }, 'could not report the failure'));
      }
      return { status: 'failed' };
    } finally {
      this.counts.active--;
      handle.close();
    }
  }

  /**
   * Stops taking jobs and waits for the runs in progress to finish (bounded by the process shutdown
   * deadline), then closes the worker connection. Every step runs; idempotent.
   */
  close(): Promise<void> {
    return this.lifecycle.close(async () => {
      try {
        await this.worker?.close();
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message }, 'closing the runs worker failed');
      }
      if (this.connection) await closeRedis(this.connection);
    });
  }
}
