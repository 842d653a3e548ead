/** CPU and Redis work counters of the agents benchmark. */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** CPU time (user + system, µs) a process has used so far, from /proc (10 ms ticks); NaN without /proc. */
export function procCpuUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000; // USER_HZ 100
  } catch {
    return NaN;
  }
}

/** Calls per Redis command (INFO commandstats; a Lua script's inner calls are counted too). */
export async function commandStats(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** redis-server CPU (all its threads, user + system) so far, µs (INFO cpu). */
export async function redisCpuUs(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const get = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return Math.round((get('used_cpu_user') + get('used_cpu_sys')) * 1e6);
}

/** Counter deltas between two samples of the command stats. */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}
