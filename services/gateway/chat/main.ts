// The demo chat page: sign in as a demo user, start runs, watch their events live, cancel, re-open past runs.
// Talks to the gateways through the client SDK (bundled with this page by the launcher into
// public/dist/app.js), which fails over between every gateway in dist/config.json and delivers each run's
// events in order, each once.
import { type BridgeClient, type RunStatus, connect as connectClient, isTerminalRunStatus } from '@agent-bridge/client';
import { byId, messageOf } from './dom';
import { PastRuns } from './past-runs';
import { type Session, forgetSession, loadGateways, loadSession, saveSession, signIn } from './session';
import { type RunView, note, renderEvent, resetView, showFailure } from './timeline';

const state: {
  urls: string[];
  /** url -> name */
  gatewayNames: Map<string, string>;
  session: Session | null;
  client: BridgeClient | null;
  runs: PastRuns | null;
  current: RunView | null;
} = { urls: [], gatewayNames: new Map(), session: null, client: null, runs: null, current: null };

/** What the browser test (and curious humans) read: `window.chatDebug`. */
interface ChatDebug {
  readonly gateway: string | null;
  readonly connection: string;
  readonly runId: string | null;
  readonly seqs: number[];
  readonly types: string[];
}

declare global {
  interface Window {
    chatDebug: ChatDebug;
  }
}

window.chatDebug = {
  get gateway() {
    return state.client?.state === 'connected' ? state.client.url : null;
  },
  get connection() {
    return state.client ? state.client.state : 'offline';
  },
  get runId() {
    return state.current ? state.current.runId : null;
  },
  get seqs() {
    return state.current ? state.current.seqs.slice() : [];
  },
  get types() {
    return state.current ? state.current.types.slice() : [];
  },
};

// ---- connection -------------------------------------------------------------------------------------
function setConn(kind: string, text: string): void {
  byId('conn').dataset.state = kind;
  byId('conn-text').textContent = text;
}

function describe(url: string): string {
  const name = state.gatewayNames.get(url) ?? 'gateway';
  return `${name} (${new URL(url).host})`;
}

function lastSeq(): number {
  return state.current?.seqs.at(-1) ?? 0;
}

function connect(session: Session): void {
  const client = connectClient(state.urls, { token: session.token });
  state.client = client;
  setConn('connecting', `connecting to ${describe(client.url)}`);
  let lost: string | null = null; // the gateway we lost, while reconnecting
  client.onState((s) => {
    if (s === 'connected') {
      setConn('connected', `connected · ${describe(client.url)}`);
      if (lost && state.current && !state.current.terminal) {
        note(
          `Connection to ${lost} lost · resumed on ${describe(client.url)} after seq ${String(lastSeq())}`,
          state.current,
        );
      }
      lost = null;
    } else if (s === 'reconnecting') {
      if (lost === null && byId('conn').dataset.state === 'connected') {
        lost = byId('conn-text').textContent.replace(/^connected · /, '');
      }
      setConn('reconnecting', `reconnecting · trying ${describe(client.url)}`);
    } else if (s === 'unauthorized') signOut('Your session expired. Please sign in again.');
    else if (s === 'closed') setConn('closed', 'disconnected');
  });
}

function signOut(message?: string): void {
  forgetSession();
  state.client?.close();
  state.client = null;
  state.session = null;
  state.runs = null;
  state.current = null;
  setConn('offline', 'not connected');
  byId('app').hidden = true;
  byId('user-chip').hidden = true;
  byId('sign-in').hidden = false;
  byId('sign-in-error').hidden = !message;
  byId('sign-in-error').textContent = message ?? '';
}

// ---- the run view ---------------------------------------------------------------------------------------
function setStatus(status: RunStatus): void {
  const el = byId('run-status');
  el.dataset.status = status;
  el.textContent = status;
  byId('cancel', HTMLButtonElement).disabled = isTerminalRunStatus(status) || !state.current;
  if (state.current) state.runs?.setStatus(state.current.runId, status);
}

function openRun(runId: string, prompt: string): void {
  const client = state.client;
  if (!client || state.current?.runId === runId) return;
  if (state.current?.sub) void state.current.sub.unsubscribe();
  const run: RunView = {
    runId,
    sub: null,
    seqs: [],
    types: [],
    toolCards: new Map(),
    thinking: null,
    terminal: false,
    status: 'pending',
    live: false,
  };
  state.current = run;
  resetView(runId, prompt);
  setStatus('pending');
  state.runs?.render();
  run.sub = client.subscribe(
    runId,
    (event) => {
      if (state.current !== run) return;
      run.seqs.push(event.seq);
      run.types.push(event.type);
      renderEvent(run, event, !run.live, setStatus);
    },
    {
      afterSeq: 0,
      onStatus: (status) => {
        if (state.current !== run) return;
        run.live = true;
        if (!run.terminal || status !== 'running') {
          run.status = status;
          if (byId('run-status').dataset.status !== status) setStatus(status);
        }
      },
      onReset: () => {
        if (state.current !== run) return;
        // The history could not be continued: show it again from what is still there.
        run.seqs = [];
        run.types = [];
        run.toolCards.clear();
        run.thinking = null;
        resetView(runId, prompt);
      },
      onError: (err) => {
        if (state.current === run) setStatus('failed');
        // A page has no logger: the browser's console is where a developer looks.
        console.warn('subscription ended', err);
      },
    },
  );
  run.sub.ready.catch((err: unknown) => {
    if (state.current !== run) return;
    showFailure('Cannot open this run', messageOf(err));
    setStatus('failed');
  });
}

async function send(prompt: string): Promise<void> {
  const text = prompt.trim();
  const client = state.client;
  if (!text || !client) return;
  const button = byId('send', HTMLButtonElement);
  button.disabled = true;
  try {
    const runId = await client.startRun(text);
    byId('prompt', HTMLTextAreaElement).value = '';
    state.runs?.remember(runId, text);
    openRun(runId, text);
  } catch (err) {
    alert(`Could not start the run: ${messageOf(err)}`);
  } finally {
    button.disabled = false;
  }
}

async function cancel(): Promise<void> {
  const client = state.client;
  if (!state.current || !client) return;
  const button = byId('cancel', HTMLButtonElement);
  button.disabled = true;
  try {
    await client.cancelRun(state.current.runId);
    byId('run-status').textContent = 'cancelling…';
  } catch (err) {
    button.disabled = false;
    alert(`Could not cancel: ${messageOf(err)}`);
  }
}

// ---- wiring ---------------------------------------------------------------------------------------------
function showNewRun(): void {
  byId('empty').hidden = false;
  byId('run-view').hidden = true;
  state.runs?.render();
  byId('prompt').focus();
}

function start(session: Session): void {
  state.session = session;
  state.runs = new PastRuns(session.userId, openRun, () => state.current?.runId ?? null);
  connect(session);
  byId('sign-in').hidden = true;
  byId('app').hidden = false;
  byId('user-chip').hidden = false;
  byId('user-name').textContent = session.userId;
  byId('user-avatar').textContent = session.userId.slice(0, 1).toUpperCase();
  showNewRun();
}

async function main(): Promise<void> {
  const gateways = await loadGateways();
  state.urls = gateways.urls;
  state.gatewayNames = gateways.names;
  byId('sign-in-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const userId = byId('user-id', HTMLInputElement).value.trim();
    if (!userId) return;
    const button = byId('sign-in-button', HTMLButtonElement);
    button.disabled = true;
    signIn(userId)
      .then((session) => {
        saveSession(session);
        start(session);
      })
      .catch((err: unknown) => {
        byId('sign-in-error').hidden = false;
        byId('sign-in-error').textContent = messageOf(err);
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  byId('sign-out').addEventListener('click', () => {
    signOut();
  });
  const prompt = byId('prompt', HTMLTextAreaElement);
  byId('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    void send(prompt.value);
  });
  prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      void send(prompt.value);
    }
  });
  byId('cancel').addEventListener('click', () => void cancel());
  byId('new-run').addEventListener('click', () => {
    if (state.current?.sub) void state.current.sub.unsubscribe();
    state.current = null;
    showNewRun();
  });
  for (const chip of document.querySelectorAll('.chip')) {
    chip.addEventListener('click', () => void send(chip.textContent));
  }

  const saved = loadSession();
  if (saved) start(saved);
  else signOut();
}

void main();
