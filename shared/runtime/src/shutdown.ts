import type { Logger } from '@agent-bridge/telemetry';

type Step = { name: string; run: () => Promise<void> | void };

/**
 * The one process-level shutdown registry. Components register their cleanup in start order; on
 * SIGTERM/SIGINT (or `shutdown()`) the steps run in reverse order, each one even if an earlier one
 * failed, within a deadline after which the process exits anyway.
 */
export class ShutdownManager {
  private readonly steps: Step[] = [];
  private closing: Promise<boolean> | null = null;
  private installed = false;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  /** Registers a cleanup step; steps run last-registered first. */
  register(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
  }

  /** Handles SIGTERM and SIGINT: run every step, then exit 0 (1 if a step failed or time ran out). */
  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    if (this.installed) return;
    this.installed = true;
    const onSignal = (signal: NodeJS.Signals): void => {
      this.logger.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        this.logger.error({ timeoutMs: this.timeoutMs }, 'shutdown deadline passed; exiting');
        exit(1);
      }, this.timeoutMs);
      timer.unref();
      this.shutdown().then(
        (failed) => {
          clearTimeout(timer);
          exit(failed ? 1 : 0);
        },
        () => exit(1),
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  /** Runs every step once (memoised); resolves true when any step failed. */
  shutdown(): Promise<boolean> {
    this.closing ??= (async () => {
      let failed = false;
      for (const step of [...this.steps].reverse()) {
        try {
          await step.run();
        } catch (err) {
          failed = true;
          this.logger.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
      return failed;
    })();
    return this.closing;
  }
}
