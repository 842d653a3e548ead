import { type RunStatus } from '@agent-bridge/client';
import { byId } from './dom';

/** A run this browser started, shown in the sidebar. */
interface PastRun {
  runId: string;
  prompt: string;
  /** Epoch ms when it was started. */
  at: number;
  status: RunStatus;
}

/** Kept per user, newest first, at most this many. */
const MAX_RUNS = 50;
const runsKey = (userId: string): string => `agent-bridge.runs.${userId}`;

/** The runs of one user, kept in this browser's localStorage, and the sidebar that lists them. */
export class PastRuns {
  constructor(
    private readonly userId: string,
    /** Called when a run of the list is clicked. */
    private readonly onOpen: (runId: string, prompt: string) => void,
    /** The run on screen, highlighted in the list. */
    private readonly activeRunId: () => string | null,
  ) {}

  private load(): PastRun[] {
    try {
      return JSON.parse(localStorage.getItem(runsKey(this.userId)) ?? '[]') as PastRun[];
    } catch {
      return [];
    }
  }

  private save(runs: PastRun[]): void {
    localStorage.setItem(runsKey(this.userId), JSON.stringify(runs.slice(0, MAX_RUNS)));
  }

  /** Puts a run at the top of the list. */
  remember(runId: string, prompt: string): void {
    const runs = this.load().filter((r) => r.runId !== runId);
    runs.unshift({ runId, prompt, at: Date.now(), status: 'pending' });
    this.save(runs);
    this.render();
  }

  /** Records a run's new status (a run not in the list is left alone). */
  setStatus(runId: string, status: RunStatus): void {
    const runs = this.load();
    const run = runs.find((r) => r.runId === runId);
    if (!run) return;
    run.status = status;
    this.save(runs);
    this.render();
  }

  /** Draws the sidebar. */
  render(): void {
    const activeRunId = this.activeRunId();
    const list = byId('runs');
    list.textContent = '';
    const runs = this.load();
    byId('runs-empty').hidden = runs.length > 0;
    for (const run of runs) {
      const li = document.createElement('li');
      li.dataset.runId = run.runId;
      if (activeRunId === run.runId) li.classList.add('active');
      const p = document.createElement('div');
      p.className = 'run-prompt';
      p.textContent = run.prompt;
      const meta = document.createElement('div');
      meta.className = 'run-meta';
      const when = document.createElement('span');
      when.textContent = new Date(run.at).toLocaleTimeString();
      const tag = document.createElement('span');
      tag.className = 'status-tag';
      tag.dataset.status = run.status;
      tag.textContent = run.status;
      meta.append(when, tag);
      li.append(p, meta);
      li.addEventListener('click', () => {
        this.onOpen(run.runId, run.prompt);
      });
      list.append(li);
    }
  }
}
