// The demo chat page: sign in as a demo user, start runs, watch their events live, cancel, re-open past runs.
// Talks to the gateways through the client SDK (window.AgentBridgeClient, bundled by the launcher), which
// fails over between every gateway in dist/config.json and delivers each run's events in order, each once.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const SESSION_KEY = 'agent-bridge.session';
  const runsKey = (userId) => `agent-bridge.runs.${userId}`;
  // The run-status rules of the bridge, from the client SDK: a run is cancelled by the error's code, and the
  // page shows the status the run registry records.
  const sdk = () => window.AgentBridgeClient;

  const state = {
    config: { gateways: [] },
    gatewayNames: new Map(), // url -> name
    session: null, // { userId, token }
    client: null,
    current: null, // { runId, sub, seqs: number[], toolCards: Map, thinking: HTMLElement|null, terminal: bool }
  };

  // ---- exposed for the browser test and for curious humans (window.chatDebug) ----------------------
  window.chatDebug = {
    get gateway() {
      return state.client && state.client.state === 'connected' ? state.client.url : null;
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

  // ---- config & session -----------------------------------------------------------------------------
  async function loadConfig() {
    // `?gateways=8080,8081` (ports on this host) wins over dist/config.json, which the launcher writes.
    const fromQuery = new URLSearchParams(location.search).get('gateways');
    if (fromQuery) {
      state.config = {
        gateways: fromQuery
          .split(',')
          .map((p) => p.trim())
          .filter((p) => /^\d+$/.test(p))
          .map((port, i) => ({ name: `gateway-${i + 1}`, port: Number(port) })),
      };
    } else {
      try {
        const res = await fetch('dist/config.json', { cache: 'no-store' });
        if (res.ok) state.config = await res.json();
      } catch {
        /* served by a gateway started on its own: only this gateway */
      }
    }
    const own = location.origin;
    const urls = [];
    for (const g of state.config.gateways || []) {
      const url = `${location.protocol}//${location.hostname}:${g.port}`;
      state.gatewayNames.set(url, g.name);
      urls.push(url);
    }
    if (!state.gatewayNames.has(own)) {
      state.gatewayNames.set(own, 'this gateway');
      urls.unshift(own);
    }
    // The gateway that served the page first, then the others (the SDK moves on when one dies).
    return [own, ...urls.filter((u) => u !== own)];
  }

  function loadSession() {
    try {
      return JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    } catch {
      return null;
    }
  }

  async function signIn(userId) {
    const res = await fetch('auth/demo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.token) throw new Error((body.error && body.error.message) || `sign-in failed (${res.status})`);
    return { userId, token: body.token };
  }

  function signOut(message) {
    localStorage.removeItem(SESSION_KEY);
    if (state.client) state.client.close();
    state.client = null;
    state.session = null;
    state.current = null;
    setConn('offline', 'not connected');
    $('app').hidden = true;
    $('user-chip').hidden = true;
    $('sign-in').hidden = false;
    $('sign-in-error').hidden = !message;
    $('sign-in-error').textContent = message || '';
  }

  // ---- connection indicator --------------------------------------------------------------------------
  function setConn(kind, text) {
    $('conn').dataset.state = kind;
    $('conn-text').textContent = text;
  }

  function describe(url) {
    const name = state.gatewayNames.get(url) || 'gateway';
    return `${name} (${new URL(url).host})`;
  }

  function connect(urls) {
    const client = window.AgentBridgeClient.connect(urls, { token: state.session.token });
    state.client = client;
    setConn('connecting', `connecting to ${describe(client.url)}`);
    let lost = null; // the gateway we lost, while reconnecting
    client.onState((s) => {
      if (s === 'connected') {
        setConn('connected', `connected · ${describe(client.url)}`);
        if (lost && state.current && !state.current.terminal) {
          note(`Connection to ${lost} lost · resumed on ${describe(client.url)} after seq ${lastSeq()}`);
        }
        lost = null;
      } else if (s === 'reconnecting') {
        if (lost === null && $('conn').dataset.state === 'connected') {
          lost = $('conn-text').textContent.replace(/^connected · /, '');
        }
        setConn('reconnecting', `reconnecting · trying ${describe(client.url)}`);
      } else if (s === 'unauthorized') signOut('Your session expired. Please sign in again.');
      else if (s === 'closed') setConn('closed', 'disconnected');
    });
  }

  function lastSeq() {
    const seqs = state.current ? state.current.seqs : [];
    return seqs.length ? seqs[seqs.length - 1] : 0;
  }

  /** A line in the timeline about the connection (not an event of the run). */
  function note(text) {
    const li = document.createElement('li');
    li.className = 'item note';
    li.textContent = text;
    $('timeline').append(li);
    if (state.current) endThinking(state.current);
    scrollDown();
  }

  // ---- past runs (kept in this browser) ----------------------------------------------------------------
  function pastRuns() {
    try {
      return JSON.parse(localStorage.getItem(runsKey(state.session.userId)) || '[]');
    } catch {
      return [];
    }
  }

  function saveRuns(runs) {
    localStorage.setItem(runsKey(state.session.userId), JSON.stringify(runs.slice(0, 50)));
  }

  function rememberRun(runId, prompt) {
    const runs = pastRuns().filter((r) => r.runId !== runId);
    runs.unshift({ runId, prompt, at: Date.now(), status: 'pending' });
    saveRuns(runs);
    renderRuns();
  }

  function updateRun(runId, patch) {
    const runs = pastRuns();
    const run = runs.find((r) => r.runId === runId);
    if (!run) return;
    Object.assign(run, patch);
    saveRuns(runs);
    renderRuns();
  }

  function renderRuns() {
    const list = $('runs');
    list.textContent = '';
    const runs = pastRuns();
    $('runs-empty').hidden = runs.length > 0;
    for (const run of runs) {
      const li = document.createElement('li');
      li.dataset.runId = run.runId;
      if (state.current && state.current.runId === run.runId) li.classList.add('active');
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
      li.addEventListener('click', () => openRun(run.runId, run.prompt));
      list.append(li);
    }
  }

  // ---- the run view ------------------------------------------------------------------------------------
  function setStatus(status) {
    const el = $('run-status');
    el.dataset.status = status;
    el.textContent = status;
    $('cancel').disabled = sdk().isTerminalRunStatus(status) || !state.current;
    if (state.current) updateRun(state.current.runId, { status });
  }

  function item(kind, title, seq) {
    const li = document.createElement('li');
    li.className = `item ${kind}`;
    li.dataset.seq = String(seq);
    const t = document.createElement('div');
    t.className = 'item-title';
    t.textContent = title;
    const body = document.createElement('div');
    body.className = 'item-body';
    li.append(t, body);
    $('timeline').append(li);
    return li;
  }

  function pretty(value) {
    if (value === undefined) return '';
    return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  }

  function describeArgs(tool, args) {
    const a = args || {};
    if (tool === 'calculator') return `Calculating ${a.expression}`;
    if (tool === 'search') return `Searching the knowledge base for "${a.query}"`;
    if (tool === 'clock') return 'Reading the clock';
    return `args ${pretty(args)}`;
  }

  function describeResult(tool, result, out) {
    const r = result || {};
    const line = (label, text) => {
      const div = document.createElement('div');
      const b = document.createElement('b');
      b.textContent = label;
      div.append(b, document.createTextNode(` ${text}`));
      out.append(div);
      return div;
    };
    if (tool === 'calculator' && r.value !== undefined) {
      line('=', r.value);
    } else if (tool === 'clock' && r.iso) {
      line('Now', `${r.iso} (${r.weekday})`);
    } else if (tool === 'search' && Array.isArray(r.hits)) {
      if (r.hits.length === 0) line('No match', '');
      for (const h of r.hits) line(h.title, `— ${h.snippet}`).className = 'hit';
    } else {
      out.textContent = pretty(result);
    }
  }

  function scrollDown() {
    const view = $('run-view');
    view.scrollTop = view.scrollHeight;
  }

  function endThinking(run) {
    if (run.thinking) run.thinking.classList.remove('live');
    run.thinking = null;
  }

  function render(run, event, replayed) {
    const p = event.payload || {};
    const li = document.createElement('li');
    li.dataset.seq = String(event.seq);
    li.dataset.type = event.type;
    li.textContent = `${event.seq} ${event.type}`;
    if (replayed) li.classList.add('replayed');
    const events = $('events');
    events.append(li);
    events.scrollTop = events.scrollHeight;
    $('event-count').textContent = String(run.seqs.length);

    switch (event.type) {
      case 'agent_started': {
        endThinking(run);
        const el = item('started', 'Run started', event.seq);
        el.querySelector('.item-body').textContent = `Agent ${p.agent || ''} picked up the run.`;
        if (run.status !== 'completed') setStatus('running');
        break;
      }
      case 'agent_thinking': {
        if (!run.thinking) {
          run.thinking = item('thinking live', 'Thinking', event.seq);
        }
        run.thinking.querySelector('.item-body').textContent += p.delta || '';
        if (run.status === 'pending') setStatus('running');
        break;
      }
      case 'tool_executing': {
        endThinking(run);
        const el = item('tool', '', event.seq);
        const title = el.querySelector('.item-title');
        title.innerHTML =
          '<span class="spinner"></span><span class="tick">✓</span>Tool <span class="tool-name"></span>';
        title.querySelector('.tool-name').textContent = p.tool;
        const summary = document.createElement('div');
        summary.className = 'summary args';
        summary.textContent = describeArgs(p.tool, p.args);
        el.querySelector('.item-body').append(summary);
        run.toolCards.set(p.toolCallId, el);
        break;
      }
      case 'tool_completed': {
        endThinking(run);
        let el = run.toolCards.get(p.toolCallId);
        if (!el) el = item('tool', `Tool ${p.tool}`, event.seq);
        el.classList.add('done');
        const body = el.querySelector('.item-body');
        const out = document.createElement('div');
        out.className = 'summary result';
        if (p.error) {
          el.classList.add('failed');
          out.textContent = `Failed: ${p.error}`;
          body.append(out);
        } else {
          describeResult(p.tool, p.result, out);
          const raw = document.createElement('details');
          const label = document.createElement('summary');
          label.textContent = 'raw result';
          const pre = document.createElement('pre');
          pre.textContent = pretty(p.result);
          raw.append(label, pre);
          body.append(out, raw);
        }
        break;
      }
      case 'agent_completed': {
        endThinking(run);
        const el = item('answer', 'Answer', event.seq);
        const out = p.output;
        el.querySelector('.item-body').textContent =
          out && typeof out === 'object' && 'answer' in out ? String(out.answer) : pretty(out);
        setStatus('completed');
        break;
      }
      case 'agent_error': {
        endThinking(run);
        const status = sdk().runStatusOfEvent(event);
        const cancelled = status === 'cancelled';
        const el = item(`agent-error${cancelled ? ' cancelled' : ''}`, cancelled ? 'Cancelled' : 'Error', event.seq);
        el.querySelector('.item-body').textContent = p.message || 'the agent failed';
        setStatus(status);
        break;
      }
      case 'gap': {
        endThinking(run);
        const el = item('agent-error', 'Missing event', event.seq);
        el.querySelector('.item-body').textContent = `seq ${p.missingSeq} was lost: ${p.reason}`;
        break;
      }
      default: {
        endThinking(run);
        const el = item('custom', event.type, event.seq);
        el.querySelector('.item-body').textContent = pretty(p);
      }
    }
    if (sdk().runStatusOfEvent(event) !== null) run.terminal = true;
    scrollDown();
  }

  function resetView(runId, prompt) {
    $('empty').hidden = true;
    $('run-view').hidden = false;
    $('run-id').textContent = runId;
    $('prompt-bubble').textContent = prompt || '';
    $('timeline').textContent = '';
    $('events').textContent = '';
    $('event-count').textContent = '0';
  }

  function openRun(runId, prompt) {
    if (state.current && state.current.runId === runId) return;
    if (state.current && state.current.sub) void state.current.sub.unsubscribe();
    const run = {
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
    renderRuns();
    run.sub = state.client.subscribe(
      runId,
      (event) => {
        if (state.current !== run) return;
        run.seqs.push(event.seq);
        run.types.push(event.type);
        render(run, event, !run.live);
      },
      {
        afterSeq: 0,
        onStatus: (status) => {
          if (state.current !== run) return;
          run.live = true;
          if (!run.terminal || status !== 'running') {
            run.status = status;
            if ($('run-status').dataset.status !== status) setStatus(status);
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
          if (state.current === run) setStatus(`failed`);
          console.warn('subscription ended', err);
        },
      },
    );
    run.sub.ready.catch((err) => {
      if (state.current !== run) return;
      const el = item('agent-error', 'Cannot open this run', 0);
      el.querySelector('.item-body').textContent = err && err.message ? err.message : String(err);
      setStatus('failed');
    });
  }

  async function send(prompt) {
    const text = prompt.trim();
    if (!text || !state.client) return;
    $('send').disabled = true;
    try {
      const runId = await state.client.startRun(text);
      $('prompt').value = '';
      rememberRun(runId, text);
      openRun(runId, text);
    } catch (err) {
      alert(`Could not start the run: ${err && err.message ? err.message : err}`);
    } finally {
      $('send').disabled = false;
    }
  }

  async function cancel() {
    if (!state.current || !state.client) return;
    $('cancel').disabled = true;
    try {
      await state.client.cancelRun(state.current.runId);
      $('run-status').textContent = 'cancelling…';
    } catch (err) {
      $('cancel').disabled = false;
      alert(`Could not cancel: ${err && err.message ? err.message : err}`);
    }
  }

  // ---- wiring --------------------------------------------------------------------------------------------
  function showApp() {
    $('sign-in').hidden = true;
    $('app').hidden = false;
    $('user-chip').hidden = false;
    $('user-name').textContent = state.session.userId;
    $('user-avatar').textContent = state.session.userId.slice(0, 1).toUpperCase();
    $('empty').hidden = false;
    $('run-view').hidden = true;
    renderRuns();
    $('prompt').focus();
  }

  async function main() {
    const urls = await loadConfig();
    $('sign-in-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const userId = $('user-id').value.trim();
      if (!userId) return;
      $('sign-in-button').disabled = true;
      try {
        state.session = await signIn(userId);
        localStorage.setItem(SESSION_KEY, JSON.stringify(state.session));
        connect(urls);
        showApp();
      } catch (err) {
        $('sign-in-error').hidden = false;
        $('sign-in-error').textContent = err.message;
      } finally {
        $('sign-in-button').disabled = false;
      }
    });
    $('sign-out').addEventListener('click', () => signOut());
    $('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      void send($('prompt').value);
    });
    $('prompt').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        void send($('prompt').value);
      }
    });
    $('cancel').addEventListener('click', () => void cancel());
    $('new-run').addEventListener('click', () => {
      if (state.current && state.current.sub) void state.current.sub.unsubscribe();
      state.current = null;
      $('empty').hidden = false;
      $('run-view').hidden = true;
      renderRuns();
      $('prompt').focus();
    });
    for (const chip of document.querySelectorAll('.chip')) {
      chip.addEventListener('click', () => void send(chip.textContent));
    }

    const saved = loadSession();
    if (saved && saved.userId && saved.token) {
      state.session = saved;
      connect(urls);
      showApp();
    } else {
      signOut();
    }
  }

  void main();
})();
