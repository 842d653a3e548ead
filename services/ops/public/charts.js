// Live charts of the last minutes (uPlot, served by the ops service itself) and the timeline of leader
// changes and state transitions. Polls GET /api/series?since=<last bucket> and appends the new samples.
// Plain browser JavaScript, no build step.
(function () {
  'use strict';
  var ui = window.opsUi;
  var COLORS = ['#2d6cdf', '#c0392b', '#1f8a4c', '#c27c0e', '#8e44ad', '#16a085', '#7a8394', '#d35400'];
  var samples = [];
  var transitions = [];
  var windowMs = 15 * 60 * 1000;
  var pollMs = 1000;
  var lastAt = 0;
  var plots = {};

  function sockets(s) {
    return Object.keys(s.connections || {});
  }
  // Each chart: a list of [label, value-of-sample]; connections has one series per gateway seen.
  var CHARTS = {
    deliveries: function () {
      return [['deliveries/s', (s) => s.deliveredPerSec]];
    },
    latency: function () {
      return [
        ['p50 ms', (s) => s.latencyP50Ms],
        ['p99 ms', (s) => s.latencyP99Ms],
      ];
    },
    queue: function () {
      return [
        ['waiting', (s) => s.queue.waiting],
        ['active', (s) => s.queue.active],
        ['delayed', (s) => s.queue.delayed],
      ];
    },
    lag: function () {
      return [['lag ms', (s) => s.queue.lagMs]];
    },
    connections: function () {
      var ids = {};
      samples.forEach(function (s) {
        sockets(s).forEach(function (id) {
          ids[id] = true;
        });
      });
      return Object.keys(ids)
        .sort()
        .map(function (id) {
          return [
            id,
            function (s) {
              var n = (s.connections || {})[id];
              return n === undefined ? null : n;
            },
          ];
        });
    },
    'dead-letters': function () {
      return [['dead letters', (s) => s.deadLetters]];
    },
  };

  // Vertical markers on every chart: purple for leader changes, blue for state transitions.
  function markers() {
    var out = transitions.map(function (t) {
      return { at: t.at, color: '#2d6cdf' };
    });
    samples.forEach(function (s) {
      if (s.leaderChange) out.push({ at: s.sampledAt, color: '#8e44ad' });
    });
    return out;
  }
  var markerPlugin = {
    hooks: {
      draw: [
        function (u) {
          var ctx = u.ctx;
          ctx.save();
          ctx.lineWidth = 2;
          ctx.setLineDash([4, 4]);
          markers().forEach(function (m) {
            var x = u.valToPos(m.at / 1000, 'x', true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
            ctx.strokeStyle = m.color;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          });
          ctx.restore();
        },
      ],
    },
  };

  // One row of wall-clock labels on the time axis. uPlot's default adds a second row with the date and the
  // hour at every minute boundary, which collides with the next label at 10 s ticks on a half-width chart.
  var clock = uPlot.fmtDate('{HH}:{mm}:{ss}');
  var timeAxis = {
    space: 70,
    values: function (u, splits) {
      return splits.map(function (v) {
        return v === null ? '' : clock(new Date(v * 1000));
      });
    },
  };

  function renderChart(name) {
    var box = ui.el('chart-' + name);
    var series = CHARTS[name]();
    var xs = samples.map(function (s) {
      return s.at / 1000;
    });
    var data = [xs].concat(
      series.map(function (def) {
        return samples.map(function (s) {
          var v = def[1](s);
          return v === null || v === undefined ? null : v;
        });
      }),
    );
    var labels = series
      .map(function (d) {
        return d[0];
      })
      .join('|');
    var plot = plots[name];
    if (!plot || plot.labels !== labels) {
      if (plot) plot.u.destroy();
      var opts = {
        width: Math.max(320, box.clientWidth || 420),
        height: 170,
        plugins: [markerPlugin],
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [timeAxis, {}],
        series: [{}].concat(
          series.map(function (d, i) {
            return { label: d[0], stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false };
          }),
        ),
      };
      plot = plots[name] = { u: new uPlot(opts, data, box), labels: labels };
    } else {
      plot.u.setData(data);
    }
    // For tests and screen readers: how many points the chart has and the largest value shown.
    var values = data
      .slice(1)
      .flat()
      .filter(function (v) {
        return v !== null;
      });
    box.setAttribute('data-points', String(xs.length));
    box.setAttribute('data-values', String(values.length));
    box.setAttribute('data-max', values.length ? String(Math.max.apply(null, values)) : '');
  }

  function leaderText(l) {
    return l && l.id ? l.id + ' (epoch ' + l.epoch + ')' : 'none';
  }
  function renderTimeline() {
    var items = transitions.map(function (t) {
      return {
        at: t.at,
        kind: 'state',
        text:
          'state ' +
          t.from +
          ' → ' +
          t.to +
          (t.reason ? ' — ' + t.reason : '') +
          ' (leader ' +
          leaderText({ id: t.leaderId, epoch: t.epoch }) +
          ')',
      };
    });
    samples.forEach(function (s) {
      if (!s.leaderChange) return;
      items.push({
        at: s.sampledAt,
        kind: 'leader',
        text: 'leader ' + leaderText(s.leaderChange.from) + ' → ' + leaderText(s.leaderChange.to),
      });
    });
    items.sort(function (a, b) {
      return b.at - a.at;
    });
    var list = ui.el('timeline');
    list.replaceChildren.apply(
      list,
      items.length === 0
        ? [Object.assign(document.createElement('li'), { textContent: 'no leader change or transition in the window' })]
        : items.map(function (it) {
            var li = document.createElement('li');
            li.setAttribute('data-kind', it.kind);
            var time = document.createElement('time');
            time.textContent = ui.time(it.at);
            li.append(time, it.text);
            return li;
          }),
    );
  }

  function render() {
    Object.keys(CHARTS).forEach(renderChart);
    renderTimeline();
    ui.el('window').textContent = String(Math.round(windowMs / 60000));
    ui.el('charts-note').textContent = samples.length
      ? '· ' + samples.length + ' samples'
      : '· waiting for the first samples';
  }

  function tick() {
    fetch('/api/series?since=' + lastAt, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (r) {
        windowMs = r.windowMs;
        pollMs = Math.max(1000, Math.min(r.intervalMs, 5000));
        r.samples.forEach(function (s) {
          if (s.at > lastAt) {
            samples.push(s);
            lastAt = s.at;
          }
        });
        var from = r.now - windowMs;
        samples = samples.filter(function (s) {
          return s.at >= from;
        });
        transitions = r.transitions;
        render();
      })
      .catch(function (err) {
        ui.el('charts-note').textContent = '· cannot read the chart series: ' + err.message;
      })
      .finally(function () {
        setTimeout(tick, pollMs);
      });
  }
  tick();
})();
