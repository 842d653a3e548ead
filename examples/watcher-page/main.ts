// A minimal watcher page: shows one run live. The client SDK resumes after reconnects and hands each event
// to onEvent once, in seq order, so the page just appends.
import { connect } from '@agent-bridge/client';

const params = new URLSearchParams(location.search);
const client = connect(params.get('gateway') ?? 'http://127.0.0.1:8080', { token: params.get('token') ?? '' });
const $ = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
};

const runId = params.get('run') ?? (await client.startRun('What is 6*7?'));
$('run').textContent = runId;
client.onState((state) => ($('status').textContent = state));

client.subscribe(runId, (event) => {
  const item = document.createElement('li');
  item.dataset.seq = String(event.seq);
  item.textContent = `${event.seq} ${event.type} ${JSON.stringify(event.payload)}`;
  $('events').append(item);
  if (event.type === 'agent_thinking') $('answer').textContent += (event.payload as { delta: string }).delta;
});
