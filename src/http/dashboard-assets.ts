// The dashboard's browser script and stylesheet, served as separate same-origin assets so the
// page runs under a strict Content-Security-Policy (no inline script or style). They are strings
// in a TS module because tsc does not copy non-TS files into dist/.
//
// The script fetches the online report JSON from /admin/reports/online with the admin API key the
// user enters (kept in sessionStorage for the tab only), builds the DOM with textContent (never
// innerHTML), and draws three Chart.js charts: latency distribution per arm, cost vs quality, and
// agreement over time. `window.distilleryDashboard` exposes the state for tests.

export const DASHBOARD_SCRIPT = String.raw`(function () {
  'use strict';
  var KEY = 'distillery.adminKey';
  var params = new URLSearchParams(location.search);
  var state = { task: params.get('task') || '', report: null };
  var charts = {};
  var api = { charts: charts, ready: false, error: null, report: null, renders: 0 };
  window.distilleryDashboard = api;
  var COLORS = { teacher: '#3b6fd4', student: '#e07b24' };
  var PALETTE = ['#3b6fd4', '#e07b24', '#2e9e6a', '#b04fc4', '#c23b3b', '#6b7a8f'];

  function $(id) { return document.getElementById(id); }
  function text(el, value) { el.textContent = value; return el; }
  function make(tag, value) { var el = document.createElement(tag); if (value !== undefined) el.textContent = value; return el; }
  function pct(x) { return x === null || x === undefined || !isFinite(x) ? '—' : (100 * x).toFixed(1) + '%'; }
  function ms(x) {
    if (x === null || x === undefined || !isFinite(x)) return '—';
    if (x >= 3600000) return +(x / 3600000).toFixed(1) + ' h';
    if (x >= 60000) return +(x / 60000).toFixed(1) + ' min';
    return x >= 1000 ? (x / 1000).toFixed(2) + ' s' : x.toFixed(0) + ' ms';
  }
  function usd(x) {
    if (x === null || x === undefined || !isFinite(x)) return '—';
    var a = Math.abs(x);
    return (x < 0 ? '-' : '') + '$' + (a >= 1 ? a.toFixed(2) : a.toPrecision(3));
  }

  function setStatus(message, isError) {
    var s = $('status');
    text(s, message);
    s.className = isError ? 'status error' : 'status';
  }

  function showKeyForm(message) {
    $('key-form').hidden = false;
    setStatus(message || 'Enter an admin API key to load the report.', false);
  }

  // Every task is fetched; the selector (pre-set from ?task=) picks which one the charts show.
  function query() {
    var q = new URLSearchParams({ format: 'json' });
    ['since', 'until'].forEach(function (k) { if (params.get(k)) q.set(k, params.get(k)); });
    return q;
  }

  function load() {
    var key = sessionStorage.getItem(KEY);
    // Without a key the API can only refuse: ask for one instead of logging a 401 in the console.
    if (!key) {
      showKeyForm();
      return Promise.resolve();
    }
    var headers = { authorization: 'Bearer ' + key };
    setStatus('Loading…', false);
    return fetch('/admin/reports/online?' + query().toString(), { headers: headers, credentials: 'same-origin' })
      .then(function (res) {
        if (res.status === 401 || res.status === 403) {
          if (key) sessionStorage.removeItem(KEY);
          showKeyForm(key ? 'That key was refused. Enter an admin API key.' : undefined);
          return null;
        }
        if (!res.ok) {
          return res.json().catch(function () { return {}; }).then(function (body) {
            var msg = body && body.error && body.error.message ? body.error.message : 'HTTP ' + res.status;
            throw new Error(msg);
          });
        }
        return res.json();
      })
      .then(function (report) {
        if (!report) return;
        $('key-form').hidden = true;
        api.report = report;
        state.report = report;
        renderAll();
      })
      .catch(function (err) {
        api.error = String(err && err.message ? err.message : err);
        setStatus('Could not load the report: ' + api.error, true);
      });
  }

  function selectedTask() {
    var r = state.report;
    if (!r || r.tasks.length === 0) return null;
    var name = $('task-select').value || state.task;
    return r.tasks.find(function (t) { return t.task === name; }) || r.tasks[0];
  }

  function renderAll() {
    var r = state.report;
    var select = $('task-select');
    var current = select.value || state.task;
    while (select.firstChild) select.removeChild(select.firstChild);
    r.tasks.forEach(function (t) {
      var o = make('option', t.task);
      o.value = t.task;
      if (t.task === current) o.selected = true;
      select.appendChild(o);
    });
    text($('window'), (r.window.since || '(start)') + ' → ' + (r.window.until || '(now)') + ' · ' + r.totals.pairs + ' pairs · generated ' + r.generatedAt);
    if (r.tasks.length === 0) {
      setStatus('No pairs in this window.', false);
      api.ready = true;
      return;
    }
    renderSummary(r);
    renderCharts(r, selectedTask());
    setStatus('', false);
    api.renders += 1;
    api.ready = true;
  }

  function renderSummary(r) {
    var body = $('summary-body');
    while (body.firstChild) body.removeChild(body.firstChild);
    r.tasks.forEach(function (t) {
      var tr = make('tr');
      var ag = t.agreement;
      var agText = ag.rate === null ? '—' : pct(ag.rate) + ' [' + pct(ag.interval.lower) + ', ' + pct(ag.interval.upper) + ']' + (ag.sufficient ? '' : ' (insufficient data)');
      var cells = [
        t.task,
        String(t.requests),
        pct(t.requests ? t.servedBy.student / t.requests : null),
        agText,
        t.arms.teacher ? ms(t.arms.teacher.latency.p50InMs) : '—',
        t.arms.student ? ms(t.arms.student.latency.p50InMs) : '—',
        t.arms.student ? ms(t.arms.student.latency.p99InMs) : '—',
        usd(t.cost.total.totalUsd),
        t.cost.ledger ? usd(t.cost.ledger.netSavingsUsd) + ' (' + pct(t.cost.ledger.netSavingsRatio) + ')' : '—'
      ];
      cells.forEach(function (c) { tr.appendChild(make('td', c)); });
      body.appendChild(tr);
    });
  }

  function replaceChart(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new window.Chart($(id), config);
    return charts[id];
  }

  function renderCharts(r, task) {
    var common = { animation: false, responsive: true, maintainAspectRatio: false };
    var bins = task.latencyDistribution.upperInMs.map(function (u) { return ms(u); });
    var latencySets = ['teacher', 'student'].filter(function (a) { return task.latencyDistribution.counts[a]; }).map(function (a) {
      return { label: a, data: task.latencyDistribution.counts[a], backgroundColor: COLORS[a] };
    });
    replaceChart('latency-chart', {
      type: 'bar',
      data: { labels: bins, datasets: latencySets },
      options: Object.assign({}, common, {
        plugins: { title: { display: true, text: 'Latency distribution per arm — ' + task.task + ' (bin upper bound)' } },
        scales: { y: { title: { display: true, text: 'calls' } }, x: { title: { display: true, text: 'latency' } } }
      })
    });

    var points = [];
    r.tasks.forEach(function (t, i) {
      ['teacher', 'student'].forEach(function (arm) {
        var a = t.arms[arm];
        if (!a || a.cost.requests === 0) return;
        var quality = arm === 'teacher' ? (t.reference ? t.reference.teacherAccuracy.estimate : 1) : (t.reference ? t.reference.studentAccuracy.estimate : t.agreement.rate);
        if (quality === null || quality === undefined) return;
        points.push({ label: t.task + ' · ' + arm, data: [{ x: a.cost.per1000RequestsUsd, y: 100 * quality }], backgroundColor: arm === 'teacher' ? COLORS.teacher : PALETTE[(i + 1) % PALETTE.length], pointStyle: arm === 'teacher' ? 'rectRot' : 'circle', pointRadius: 7 });
      });
    });
    replaceChart('cost-quality-chart', {
      type: 'scatter',
      data: { datasets: points },
      options: Object.assign({}, common, {
        plugins: { title: { display: true, text: 'Cost vs quality (quality: accuracy on gold labels, else agreement with the teacher)' } },
        scales: {
          x: { type: 'logarithmic', title: { display: true, text: 'USD per 1,000 calls' } },
          y: { title: { display: true, text: 'quality %' }, suggestedMin: 0, suggestedMax: 100 }
        }
      })
    });

    var labels = task.trend.buckets.map(function (b) { return b.start.replace('T', ' ').slice(0, 16); });
    var sets = [{
      label: 'agreement %',
      data: task.trend.buckets.map(function (b) { return b.agreementRate === null ? null : 100 * b.agreementRate; }),
      borderColor: COLORS.student, backgroundColor: COLORS.student, spanGaps: true, yAxisID: 'y'
    }];
    if (task.trend.buckets.some(function (b) { return b.chrfMean !== null; })) {
      sets.push({ label: 'chrF2', data: task.trend.buckets.map(function (b) { return b.chrfMean; }), borderColor: COLORS.teacher, backgroundColor: COLORS.teacher, spanGaps: true, yAxisID: 'y' });
    }
    sets.push({ label: 'student share %', data: task.trend.buckets.map(function (b) { return 100 * b.studentServedShare; }), borderColor: '#6b7a8f', backgroundColor: '#6b7a8f', borderDash: [4, 4], spanGaps: true, yAxisID: 'y' });
    replaceChart('agreement-chart', {
      type: 'line',
      data: { labels: labels, datasets: sets },
      options: Object.assign({}, common, {
        plugins: { title: { display: true, text: 'Agreement over time — ' + task.task + ' (' + ms(task.trend.bucketInMs) + ' buckets)' } },
        scales: { y: { suggestedMin: 0, suggestedMax: 100 } }
      })
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('key-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var v = $('api-key').value.trim();
      if (v) sessionStorage.setItem(KEY, v);
      $('api-key').value = '';
      load();
    });
    $('task-select').addEventListener('change', function () {
      state.task = $('task-select').value;
      if (state.report) renderCharts(state.report, selectedTask());
      api.renders += 1;
    });
    $('reload').addEventListener('click', function () { load(); });
    if (!window.Chart) {
      api.error = 'Chart.js did not load';
      setStatus(api.error, true);
      return;
    }
    load();
  });
})();
`;

export const DASHBOARD_CSS = `
:root { color-scheme: light; --ink: #1d2433; --muted: #5b6577; --line: #dde2ea; --accent: #3b6fd4; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fb; }
header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 14px 22px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0 12px 0 0; }
header .window { color: var(--muted); }
main { padding: 18px 22px; display: grid; gap: 18px; }
.status { min-height: 1.4em; color: var(--muted); }
.status.error { color: #b3261e; }
form#key-form { display: flex; gap: 8px; align-items: center; }
form#key-form[hidden] { display: none; }
input, select, button { font: inherit; padding: 5px 9px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px; }
.chart-box { position: relative; height: 300px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: right; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { color: var(--muted); font-weight: 600; }
`;
