import type { AppConfig } from '@agent-bridge/config';
import type { IntegrationStateReader, PublishedResult } from '@agent-bridge/control-plane';
import { type CheckResult, type HealthStatus, IntegrationState, type PublishedState } from '@agent-bridge/protocol';
import { metrics, withSpan } from '@agent-bridge/telemetry';
import type { LeaderContext } from '../leader/duty';
import { CheckName, failingChecks, summarize } from './checks';
import { type Evaluation, evaluate, planTransition, staleBoundMs, staleFor } from './evaluation';
import type { IntegrationStateStore } from './state-store';

/** What an {@link IntegrationDriver} works with (owned by the integration service). */
export interface IntegrationDriverOptions {
  /** This replica's id (in attempt ids). */
  id: string;
  config: AppConfig;
  reader: IntegrationStateReader;
  store: IntegrationStateStore;
  /** Runs every check now (the health checker's `run`). */
  healthCheck: () => Promise<HealthStatus>;
}

/**
 * The leader side of the published state machine: ensure attempts (concurrent callers share one), and
 * turning a health report into fenced writes — evaluation (evaluation.ts), transitions along legal edges,
 * the published health — plus the note on a lost lock quorum. Every write is fenced on the caller's
 * epoch, so a replica that no longer leads gets a FencedError instead of writing.
 */
export class IntegrationDriver {
  private attempt: Promise<PublishedResult> | null = null;
  private attempts = 0;
  private last: PublishedResult | null = null;

  constructor(private readonly options: IntegrationDriverOptions) {}

  /** Ensure attempts this replica ran as leader. */
  get ensureAttempts(): number {
    return this.attempts;
  }

  /** The last result this replica published. */
  get lastResult(): PublishedResult | null {
    return this.last;
  }

  /** One ensure attempt under `ctx`, shared by concurrent callers on the leader. */
  ensure(ctx: LeaderContext, why: string): Promise<PublishedResult> {
    this.attempt ??= (async () => {
      try {
        return await withSpan(
          'integration.ensure',
          { 'agent_bridge.epoch': ctx.epoch, 'agent_bridge.reason': why },
          () => this.ensureAttempt(ctx, why),
        );
      } finally {
        this.attempt = null;
      }
    })();
    return this.attempt;
  }

  /** Where the checks lead from the state published now (see {@link evaluate}). */
  async judge(checks: readonly CheckResult[]): Promise<Evaluation> {
    const cur = await this.options.reader.current();
    return evaluate(checks, cur, Date.now(), this.options.config.health.startupGraceMs);
  }

  /**
   * Publishes what `evaluation` decided for `health`: the transition (reason `<prefix>: <failing checks>`)
   * and then the health report with the new state.
   */
  async publish(ctx: LeaderContext, health: HealthStatus, evaluation: Evaluation, prefix: string): Promise<void> {
    const { target, note } = evaluation;
    await this.moveTo(ctx, target, `${prefix}: ${summarize(health.checks)}${note}`, failingChecks(health.checks));
    health.state = target;
    await this.options.store.publishHealth(ctx.epoch, health);
  }

  /** The lock quorum is gone: record why (FAILED with a failing `lease` check) while our epoch is valid. */
  async publishQuorumLost(ctx: LeaderContext, reason: string): Promise<void> {
    const check: CheckResult = {
      name: CheckName.Lease,
      ok: false,
      severity: 'fail',
      latencyMs: 0,
      detail: `leader ${ctx.leaderId} lost its lease and no replica can lead: ${reason}`,
    };
    await this.moveTo(ctx, IntegrationState.Failed, check.detail, [check]);
  }

  private async ensureAttempt(ctx: LeaderContext, why: string): Promise<PublishedResult> {
    const { id, reader, store } = this.options;
    const started = performance.now();
    this.attempts++;
    const attemptId = `${id}-e${ctx.epoch}-${this.attempts}`;
    const cur = await reader.current();
    const stale = await this.staleFor(cur);
    if (cur.state === IntegrationState.Uninitialized || stale !== null) {
      const note = stale === null ? '' : `; taking over a ${cur.state} state no leader checked for ${stale} ms`;
      await store.transition(
        ctx.epoch,
        ctx.leaderId,
        cur.state,
        IntegrationState.Initializing,
        `${why} (${attemptId})${note}`,
        [],
      );
    }
    const health = await this.options.healthCheck();
    const evaluation = await this.judge(health.checks);
    await this.publish(ctx, health, evaluation, `${why} (${attemptId})`);
    const result: PublishedResult = {
      ok: evaluation.target === IntegrationState.Active,
      state: evaluation.target,
      leaderId: ctx.leaderId,
      epoch: ctx.epoch,
      checks: health.checks,
      durationMs: Math.round(performance.now() - started),
      attemptId,
      at: Date.now(),
    };
    await store.publishResult(ctx.epoch, result);
    this.last = result;
    return result;
  }

  /** {@link staleFor} of the published state, against the latest published health check. */
  private async staleFor(cur: PublishedState): Promise<number | null> {
    if (cur.state === IntegrationState.Uninitialized || cur.state === IntegrationState.Initializing) return null;
    const checkedAt = (await this.options.reader.latestHealth())?.checkedAt;
    return staleFor(cur, checkedAt, Date.now(), staleBoundMs(this.options.config));
  }

  /** Transitions to `target` as {@link planTransition} says (metrics and spans per transition). */
  private async moveTo(
    ctx: LeaderContext,
    target: IntegrationState,
    reason: string,
    failing: CheckResult[],
  ): Promise<void> {
    const { reader, store } = this.options;
    const published = await reader.current();
    metrics.setIntegrationState(target);
    const plan = planTransition(published, target, failing);
    if (plan.kind === 'annotate') await store.annotate(ctx.epoch, ctx.leaderId, published, reason, failing);
    if (plan.kind !== 'move') return;
    for (const [from, to] of plan.steps) {
      // The last step is the one the span is about; an intermediate INITIALIZING is bookkeeping.
      const write = (): Promise<unknown> => store.transition(ctx.epoch, ctx.leaderId, from, to, reason, failing);
      if (to === target) {
        await withSpan('integration.transition', { 'agent_bridge.from': from, 'agent_bridge.to': to }, write);
      } else {
        await write();
      }
      metrics.integrationTransitions.add(1, { from, to });
    }
  }
}
