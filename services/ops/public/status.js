// Live status page: polls GET /api/status (same origin, same basic-auth credentials) and re-renders.
// Plain browser JavaScript, no build step.
(function () {
  'use strict';
  var refreshMs = 1000;

  function el(id) {
    return document.getElementById(id);
  }
  function text(value) {
    return value === null || value === undefined ? '—' : String(value);
  }
  function ago(ms) {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return ms + ' ms ago';
    if (ms < 120000) return (ms / 1000).toFixed(1) + ' s ago';
    return Math.round(ms / 60000) + ' min ago';
  }
  function time(ts) {
    return ts ? new Date(ts).toLocaleTimeString() : '—';
  }
  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    return ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s';
  }
  function row(cells, className) {
    var tr = document.createElement('tr');
    if (className) tr.className = className;
    cells.forEach(function (c) {
      var td = document.createElement('td');
      td.textContent = text(c);
      tr.appendChild(td);
    });
    return tr;
  }
  function fill(tableId, rows) {
    var body = el(tableId).querySelector('tbody');
    body.replaceChildren.apply(body, rows);
  }
  // Shared with charts.js and dlq.js (loaded after this file).
  window.opsUi = { el: el, text: text, time: time, row: row, fill: fill };

  function members(list) {
    return list.map(function (m) {
      return row(
        [m.id, m.host, m.pid, m.alive ? 'yes' : 'no', ago(m.lastSeenAgoMs), JSON.stringify(m.info || {})],
        m.alive ? '' : 'dead',
      );
    });
  }

  function render(s) {
    var state = s.integration ? s.integration.state : 'UNINITIALIZED';
    var stateEl = el('state');
    stateEl.textContent = state;
    stateEl.setAttribute('data-state', state);
    el('state-detail').textContent = s.integration
      ? 'since ' + time(s.integration.since) + (s.integration.reason ? ' — ' + s.integration.reason : '')
      : 'no state published yet';

    var leader = el('leader');
    leader.replaceChildren();
    [
      ['leader', s.leader.id || 'none'],
      ['epoch', s.leader.epoch],
      ['lease left', duration(s.leader.leaseRemainingMs)],
      ['last epoch issued', s.leader.lastIssuedEpoch],
    ].forEach(function (pair) {
      var dt = document.createElement('dt');
      dt.textContent = pair[0];
      var dd = document.createElement('dd');
      dd.textContent = text(pair[1]);
      dd.id = 'leader-' + pair[0].replace(/\s+/g, '-');
      leader.append(dt, dd);
    });
    el('health').textContent = s.health ? 'last health check ' + ago(s.healthAgeMs) : 'no health check published yet';
    var checks = (s.health && s.health.checks) || [];
    el('checks').replaceChildren.apply(
      el('checks'),
      checks.map(function (c) {
        var li = document.createElement('li');
        li.className = c.severity === 'ok' ? '' : c.severity;
        li.textContent = c.name + ': ' + c.severity + ' (' + c.latencyMs + ' ms) ' + (c.detail || '');
        return li;
      }),
    );

    var r = s.redis || {};
    var t = r.topology;
    var redisDl = el('redis');
    redisDl.replaceChildren();
    [
      ['topology', t ? t.mode : null],
      ['summary', r.summary],
      [
        'sentinel master',
        t && t.sentinelName
          ? t.sentinelName +
            ' → ' +
            t.masters
              .map(function (m) {
                return m.address;
              })
              .join(', ')
          : null,
      ],
      ['slot coverage', t && t.slotsCovered !== null ? t.slotsCovered + ' / 16384' : null],
      ['pub/sub', r.pubsubMode],
      ['event partitions', r.eventPartitions],
    ].forEach(function (pair) {
      if (pair[1] === null || pair[1] === undefined) return;
      var dt = document.createElement('dt');
      dt.textContent = pair[0];
      var dd = document.createElement('dd');
      dd.textContent = text(pair[1]);
      dd.id = 'redis-' + pair[0].replace(/[^a-z]+/g, '-');
      redisDl.append(dt, dd);
    });
    fill(
      'masters',
      (t ? t.masters : []).map(function (m) {
        return row([
          m.address,
          m.version,
          m.maxmemoryPolicy,
          m.aof === null ? null : m.aof ? 'on' : 'off',
          m.replicas.join(', ') || 'none',
          m.slots,
        ]);
      }),
    );

    fill('replicas', members(s.replicas));
    fill('gateways', members(s.gateways));
    fill(
      'queues',
      s.queues.map(function (q) {
        return row([
          q.name + (q.paused ? ' (paused)' : ''),
          q.waiting,
          q.active,
          q.delayed,
          q.failed,
          q.completed,
          duration(q.lagMs),
        ]);
      }),
    );
    fill(
      'transitions',
      s.transitions.map(function (t) {
        return row([time(t.at), t.from, t.to, t.leaderId, t.epoch, t.reason]);
      }),
    );
    fill(
      'failures',
      s.failures.map(function (f) {
        return row([time(f.at), f.source, f.queue, f.jobId, f.reason]);
      }),
    );
    fill(
      'recoveries',
      s.recoveries.map(function (r) {
        if (!r || typeof r !== 'object') return row([null, String(r), null, null, null, null]);
        var failing = (r.failingChecks || [])
          .map(function (c) {
            return c.name;
          })
          .join(', ');
        return row([time(r.at), r.incidentId, r.attempt, r.outcome, r.state, failing]);
      }),
    );
    el('updated').textContent = new Date(s.now).toLocaleTimeString();
    if (s.refreshMs) refreshMs = s.refreshMs;
  }

  function tick() {
    fetch('/api/status', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (s) {
        render(s);
        el('conn').textContent = 'live';
        el('conn').className = '';
      })
      .catch(function (err) {
        el('conn').textContent = 'cannot reach the ops API: ' + err.message;
        el('conn').className = 'fail';
      })
      .finally(function () {
        setTimeout(tick, refreshMs);
      });
  }
  tick();
})();
