import type { AppConfig } from '@agent-bridge/config';
import type { HealthStatus, IntegrationState } from '@agent-bridge/protocol';
import { type Logger, metrics, withSpan } from '@agent-bridge/telemetry';
import { isAborted, sleepUnlessAborted } from '../leader/abortable';
import { type LeaderContext, leaderWork } from '../leader/duty';
import { afterEvaluation } from './evaluation';
import type { IntegrationDriver } from './transitions';

/** What the {@link HealthDuty} works with (owned by the integration service). */
export interface HealthDutyOptions {
  config: AppConfig;
  driver: IntegrationDriver;
  /** Runs every check now (the health checker's `run`). */
  healthCheck: () => Promise<HealthStatus>;
  /** Schedules a recovery job for the current incident, with why (the service's `recoverIntegration`). */
  recover: (reason: string) => Promise<unknown>;
  logger: Logger;
}

/**
 * The leader's health loop: an ensure at the start of each term, then a health check every
 * `health.intervalMs` whose evaluation the driver publishes; recovery is scheduled on FAILED and after
 * `health.degradedRecoveryAfter` consecutive DEGRADED evaluations ({@link afterEvaluation}).
 */
export class HealthDuty {
  private checks = 0;
  private streak = 0;

  constructor(private readonly options: HealthDutyOptions) {}

  /** Health checks this replica ran as leader. */
  get healthChecks(): number {
    return this.checks;
  }

  /** Consecutive DEGRADED evaluations in this term. */
  get degradedStreak(): number {
    return this.streak;
  }

  /** The duty itself, run by the elector for each term until `ctx.signal` aborts. */
  async run(ctx: LeaderContext): Promise<void> {
    const { config, driver, logger } = this.options;
    this.streak = 0;
    await leaderWork(ctx, logger, async () => {
      const first = await driver.ensure(ctx, `leader ${ctx.leaderId} took over with epoch ${ctx.epoch}`);
      await this.afterEvaluation(first.state);
    });
    while (!isAborted(ctx.signal)) {
      await sleepUnlessAborted(config.health.intervalMs, ctx.signal);
      if (isAborted(ctx.signal)) return;
      await leaderWork(ctx, logger, () => this.check(ctx));
    }
    logger.debug('health duty stopped');
  }

  private async check(ctx: LeaderContext): Promise<void> {
    const { driver, healthCheck } = this.options;
    const health = await withSpan('integration.health_check', { 'agent_bridge.epoch': ctx.epoch }, healthCheck);
    if (isAborted(ctx.signal)) return;
    this.checks++;
    const evaluation = await driver.judge(health.checks);
    metrics.healthChecks.add(1, { state: evaluation.target });
    await driver.publish(ctx, health, evaluation, 'health check');
    await this.afterEvaluation(evaluation.target);
  }

  private async afterEvaluation(state: IntegrationState): Promise<void> {
    const decision = afterEvaluation(state, this.streak, this.options.config.health.degradedRecoveryAfter);
    this.streak = decision.degradedStreak;
    if (decision.recoverReason !== null) await this.options.recover(decision.recoverReason);
  }
}
