// The live status: polls GET /api/status (the server's `OpsStatus`, so a change of its shape breaks this
// file's type check) and re-renders the state, leader, Redis, members, queues and the recent history.
import type { MemberView } from '@agent-bridge/control-plane';
import { queueRow } from '@agent-bridge/control-plane/queue-row';
import { IntegrationState } from '@agent-bridge/protocol';
import type { OpsStatus } from '../src/status/status-reader';
import { type Cell, ago, api, clock, definitions, duration, el, fill, messageOf, poll, row } from './dom';

/** Until the first answer says otherwise (`refreshMs`, AB_OPS_REFRESH_MS). */
let refreshMs = 1000;

function members(list: readonly MemberView[]): HTMLTableRowElement[] {
  return list.map((m) =>
    row(
      [m.id, m.host, m.pid, m.alive ? 'yes' : 'no', ago(m.lastSeenAgoMs), JSON.stringify(m.info)],
      m.alive ? '' : 'dead',
    ),
  );
}

function renderState(s: OpsStatus): void {
  const state = s.integration?.state ?? IntegrationState.Uninitialized;
  const stateEl = el('state');
  stateEl.textContent = state;
  stateEl.setAttribute('data-state', state);
  const i = s.integration;
  el('state-detail').textContent =
    i === null ? 'no state published yet' : `since ${clock(i.since)}${i.reason === '' ? '' : ` — ${i.reason}`}`;

  definitions('leader', 'leader-', [
    ['leader', s.leader.id ?? 'none'],
    ['epoch', s.leader.epoch],
    ['lease left', duration(s.leader.leaseRemainingMs)],
    ['last epoch issued', s.leader.lastIssuedEpoch],
  ]);
  el('health').textContent =
    s.health === null ? 'no health check published yet' : `last health check ${ago(s.healthAgeMs)}`;
  el('checks').replaceChildren(
    ...(s.health?.checks ?? []).map((c) => {
      const li = document.createElement('li');
      li.className = c.severity === 'ok' ? '' : c.severity;
      li.textContent = `${c.name}: ${c.severity} (${c.latencyMs} ms) ${c.detail}`;
      return li;
    }),
  );
}

function renderRedis(s: OpsStatus): void {
  const r = s.redis;
  const t = r.topology;
  const sentinel = t?.sentinelName == null ? null : `${t.sentinelName} → ${t.masters.map((m) => m.address).join(', ')}`;
  const pairs: [string, Cell][] = [
    ['topology', t?.mode],
    ['summary', r.summary],
    ['sentinel master', sentinel],
    ['slot coverage', t?.slotsCovered == null ? null : `${t.slotsCovered} / 16384`],
    ['pub/sub', r.pubsubMode],
    ['event partitions', r.eventPartitions],
  ];
  // Only what this topology has: no sentinel line outside Sentinel, no slot coverage outside a Cluster.
  definitions(
    'redis',
    'redis-',
    pairs.filter(([, value]) => value !== null && value !== undefined),
  );
  fill(
    'masters',
    (t?.masters ?? []).map((m) =>
      row([
        m.address,
        m.version,
        m.maxmemoryPolicy,
        m.aof === null ? null : m.aof ? 'on' : 'off',
        m.replicas.join(', ') || 'none',
        m.slots,
      ]),
    ),
  );
}

function renderTables(s: OpsStatus): void {
  fill('replicas', members(s.replicas));
  fill('gateways', members(s.gateways));
  fill(
    'queues',
    s.queues.map((q) => row(queueRow(q, duration))),
  );
  fill(
    'transitions',
    s.transitions.map((t) => row([clock(t.at), t.from, t.to, t.leaderId, t.epoch, t.reason])),
  );
  fill(
    'failures',
    s.failures.map((f) => row([clock(f.at), f.source, f.queue, f.jobId, f.reason])),
  );
  fill(
    'recoveries',
    s.recoveries.map((r) =>
      row([clock(r.at), r.incidentId, r.attempt, r.outcome, r.state, r.failingChecks.map((c) => c.name).join(', ')]),
    ),
  );
}

function render(s: OpsStatus): void {
  renderState(s);
  renderRedis(s);
  renderTables(s);
  el('updated').textContent = clock(s.now);
  if (s.refreshMs > 0) refreshMs = s.refreshMs;
}

/** Starts polling the status (every `refreshMs` of the last answer). */
export function startStatus(): void {
  poll(
    async () => {
      const conn = el('conn');
      try {
        render(await api<OpsStatus>('/api/status'));
        conn.textContent = 'live';
        conn.className = '';
      } catch (err) {
        conn.textContent = `cannot reach the ops API: ${messageOf(err)}`;
        conn.className = 'fail';
      }
    },
    () => refreshMs,
  );
}
