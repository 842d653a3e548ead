import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** CPU time (user + system, ms) a process has used so far; NaN where /proc is not available. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** Redis commands executed and CPU used so far by a pipeline's worker and gateway processes. */
export interface Sample {
  calls: number;
  worker: number;
  gateway: number;
}

/**
 * Reads the work done so far, to attribute it per delivered event: Redis commands (INFO commandstats, all
 * clients, Lua calls counted once) and the CPU of the worker and gateway processes. With `verbose`, each
 * sample prints the busiest commands since the previous one.
 */
export class UsageMeter {
  private statsBefore = new Map<string, number>();

  constructor(
    private readonly admin: Redis,
    private readonly verbose: boolean,
  ) {}

  async sample(pids: { worker: number; gateway: number }): Promise<Sample> {
    const stats = await this.commandStats();
    const calls = [...stats.values()].reduce((a, b) => a + b, 0);
    return { calls, worker: cpuMs(pids.worker), gateway: cpuMs(pids.gateway) };
  }

  /** Calls per Redis command (INFO commandstats). */
  private async commandStats(): Promise<Map<string, number>> {
    const info = await this.admin.info('commandstats');
    const out = new Map<string, number>();
    for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) out.set(m[1]!, Number(m[2]));
    if (this.verbose) {
      const delta = [...out].map(([k, v]) => [k, v - (this.statsBefore.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
      if (this.statsBefore.size > 0) {
        console.log(
          '  redis commands since the previous sample:',
          delta
            .sort((a, b) => b[1] - a[1])
            .slice(0, 12)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
        );
      }
      this.statsBefore = out;
    }
    return out;
  }
}
