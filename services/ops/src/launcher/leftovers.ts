import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One process the launcher started, as recorded in the state folder. */
export interface RecordedProcess {
  name: string;
  pid: number;
  /** Its command line when started (`/proc/<pid>/cmdline`, NUL-separated), to never kill a reused pid. */
  cmdline: string;
}

function cmdlineOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The record of the processes a launcher started (`<stateDir>/launcher-pids.json`). If a launcher is
 * killed outright (SIGKILL, a crash of the machine's terminal), its children outlive it; the next
 * launcher with the same state folder stops them first, so no stray redis-server ever shares the data
 * folder with a new one. Linux only (reads /proc); elsewhere it does nothing.
 */
export class ProcessRecord {
  private readonly entries: RecordedProcess[] = [];

  constructor(private readonly file: string) {}

  /** Records a started process (and rewrites the file). */
  add(name: string, pid: number | undefined): void {
    if (pid === undefined) return;
    const cmdline = cmdlineOf(pid);
    if (cmdline === null) return;
    this.entries.push({ name, pid, cmdline });
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, JSON.stringify(this.entries, null, 2));
  }

  /** Removes the file (after a clean stop). */
  clear(): void {
    this.entries.length = 0;
    rmSync(this.file, { force: true });
  }

  /**
   * Stops the processes a previous launcher recorded that are still running with the same command line:
   * SIGTERM, then SIGKILL after `graceMs`. Returns the names of those it stopped.
   */
  async stopLeftovers(graceMs = 5_000): Promise<string[]> {
    if (!existsSync(this.file)) return [];
    let recorded: RecordedProcess[] = [];
    try {
      recorded = JSON.parse(readFileSync(this.file, 'utf8')) as RecordedProcess[];
    } catch {
      recorded = [];
    }
    const alive = recorded.filter((p) => cmdlineOf(p.pid) === p.cmdline);
    for (const p of alive) signal(p.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (alive.some((p) => cmdlineOf(p.pid) === p.cmdline) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const p of alive) if (cmdlineOf(p.pid) === p.cmdline) signal(p.pid, 'SIGKILL');
    rmSync(this.file, { force: true });
    return alive.map((p) => `${p.name} (pid ${p.pid})`);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
