// Dead-letter view: lists GET /api/dlq (newest first, with reasons), shows one record, and requeues one
// (POST /api/dlq/:id/requeue) when the ops service is in write mode. Plain browser JavaScript.
(function () {
  'use strict';
  var ui = window.opsUi;
  var pollMs = 2000;

  function message(text, className) {
    var p = ui.el('dlq-message');
    p.textContent = text;
    p.className = className || '';
  }

  function call(method, path) {
    var init = { method: method, cache: 'no-store', credentials: 'same-origin' };
    // The requeue route insists on JSON: a cross-site form cannot send it.
    if (method === 'POST') init.headers = { 'content-type': 'application/json' };
    if (method === 'POST') init.body = '{}';
    return fetch(path, init).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error((body.error && body.error.message) || 'HTTP ' + res.status);
        return body;
      });
    });
  }

  function show(id) {
    call('GET', '/api/dlq/' + encodeURIComponent(id))
      .then(function (rec) {
        var pre = ui.el('dlq-detail');
        pre.textContent = JSON.stringify(rec, null, 2);
        pre.hidden = false;
      })
      .catch(function (err) {
        message('cannot show ' + id + ': ' + err.message, 'fail');
      });
  }

  function requeue(id) {
    call('POST', '/api/dlq/' + encodeURIComponent(id) + '/requeue')
      .then(function (r) {
        message('requeued ' + id + ' as job ' + r.jobId + ' on ' + r.queue);
        refresh();
      })
      .catch(function (err) {
        message('requeue of ' + id + ' refused: ' + err.message, 'fail');
      });
  }

  function button(label, onClick) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.addEventListener('click', onClick);
    return b;
  }

  function render(r) {
    ui.el('dlq-total').textContent = '· ' + r.total + ' in the queue';
    ui.el('dlq-mode').textContent = r.readOnly
      ? 'Read-only: requeue is off (AB_OPS_READ_ONLY=false turns it on).'
      : 'Write mode: requeue puts a record back on the events queue.';
    ui.fill(
      'dlq',
      r.records.map(function (d) {
        var runSeq = d.runId ? d.runId + (d.seq === null ? '' : ' · ' + d.seq) : null;
        var tr = ui.row([ui.time(d.deadLetteredAt), d.jobId, runSeq, d.reason.code, d.reason.message, '']);
        tr.setAttribute('data-id', d.id);
        var actions = tr.lastChild;
        actions.textContent = '';
        actions.append(
          button('show', function () {
            show(d.id);
          }),
        );
        if (!r.readOnly && d.requeueable) {
          actions.append(
            button('requeue', function () {
              requeue(d.id);
            }),
          );
        }
        return tr;
      }),
    );
  }

  function refresh() {
    return call('GET', '/api/dlq?limit=50')
      .then(render)
      .catch(function (err) {
        ui.el('dlq-total').textContent = '· cannot read the dead-letter queue: ' + err.message;
      });
  }

  function tick() {
    refresh().finally(function () {
      setTimeout(tick, pollMs);
    });
  }
  tick();
})();
