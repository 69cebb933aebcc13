// The console's browser script, part 1 of 3: helpers, the API client with the admin key, the time
// range, the confirmation dialog and the view switcher. Plain browser JavaScript in a string (no
// build step; tsc copies only .ts files into dist/). The DOM is built with textContent, never
// innerHTML, so nothing a pair holds can run as markup. `window.distilleryConsole` exposes state
// for the Chromium tests.

export const CONSOLE_SCRIPT_CORE = String.raw`
  var KEY = 'distillery.adminKey';
  var params = new URLSearchParams(location.search);
  var C = window.distilleryConsole = { ready: false, view: null, error: null, loads: 0, report: null, trend: null, pairs: [], job: null, models: [] };
  // The old name, for bookmarks and scripts written against the dashboard.
  window.distilleryDashboard = C;
  var COLORS = { teacher: '#3b6fd4', student: '#e07b24', served: '#2e9e6a', escalation: '#b04fc4', accuracy: '#c23b3b', muted: '#6b7a8f' };

  function $(id) { return document.getElementById(id); }
  function make(tag, value, cls) {
    var el = document.createElement(tag);
    if (value !== undefined && value !== null) el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function pct(x) { return x === null || x === undefined || !isFinite(x) ? '—' : (100 * x).toFixed(1) + '%'; }
  function ms(x) {
    if (x === null || x === undefined || !isFinite(x)) return '—';
    if (x >= 86400000) return +(x / 86400000).toFixed(1) + ' d';
    if (x >= 3600000) return +(x / 3600000).toFixed(1) + ' h';
    if (x >= 60000) return +(x / 60000).toFixed(1) + ' min';
    return x >= 1000 ? (x / 1000).toFixed(2) + ' s' : x.toFixed(0) + ' ms';
  }
  function usd(x) {
    if (x === null || x === undefined || !isFinite(x)) return '—';
    var a = Math.abs(x);
    return (x < 0 ? '-' : '') + '$' + (a >= 1 ? a.toFixed(2) : a === 0 ? '0' : a.toPrecision(3));
  }
  function when(iso) { return iso ? iso.replace('T', ' ').slice(0, 19) : '—'; }
  // The same text as the CLI table (formatEstimate in core/eval/report-format.ts).
  function estimate(e, n) {
    if (!e || e.rate === null || !e.interval) return '—';
    return pct(e.rate) + ' [' + pct(e.interval.lower) + ', ' + pct(e.interval.upper) + '] (n = ' + n + ')' + (e.sufficient === false ? ' (insufficient data)' : '');
  }

  function setStatus(message, isError) {
    var s = $('status');
    s.textContent = message || '';
    s.className = isError ? 'status error' : 'status';
    if (isError) C.error = message;
  }

  function showKeyForm(message) {
    $('key-form').hidden = false;
    setStatus(message || 'Enter an admin API key.', false);
  }

  /** A JSON call with the admin key; an error answer becomes an Error carrying the server's message. */
  function call(path, options) {
    var key = sessionStorage.getItem(KEY);
    if (!key) {
      showKeyForm();
      return Promise.reject(Object.assign(new Error('no key'), { quiet: true }));
    }
    options = options || {};
    var headers = { authorization: 'Bearer ' + key };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    return fetch(path, { method: options.method || 'GET', headers: headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), credentials: 'same-origin' })
      .then(function (res) {
        if (res.status === 401) {
          sessionStorage.removeItem(KEY);
          showKeyForm('That key was refused. Enter an admin API key.');
          throw Object.assign(new Error('unauthorized'), { quiet: true });
        }
        return res.json().catch(function () { return {}; }).then(function (body) {
          if (!res.ok) {
            var msg = body && body.error && body.error.message ? body.error.message : 'HTTP ' + res.status;
            throw Object.assign(new Error(msg + ' (HTTP ' + res.status + ')'), { status: res.status });
          }
          return body;
        });
      });
  }
  function failed(what) {
    return function (err) {
      if (err && err.quiet) return;
      setStatus(what + ': ' + (err && err.message ? err.message : err), true);
    };
  }

  // --- time range: presets relative to now, or a custom since/until -------------------------
  var PRESETS = { '1h': 3600000, '24h': 86400000, '7d': 604800000, '30d': 2592000000, '90d': 7776000000 };
  function range() {
    var preset = $('range-preset').value;
    if (preset === 'custom') {
      var s = $('range-since').value, u = $('range-until').value;
      return { since: s ? new Date(s + 'Z').toISOString() : null, until: u ? new Date(u + 'Z').toISOString() : null };
    }
    var until = Date.now();
    return { since: new Date(until - PRESETS[preset]).toISOString(), until: new Date(until).toISOString() };
  }
  function rangeQuery(q) {
    var r = range();
    if (r.since) q.set('since', r.since);
    if (r.until) q.set('until', r.until);
    return q;
  }
  function syncCustomInputs() {
    var custom = $('range-preset').value === 'custom';
    $('range-custom').hidden = !custom;
  }

  // --- confirmation: an in-page dialog, so the decision is explicit and testable -------------
  function confirmAction(message) {
    var dialog = $('confirm-dialog');
    $('confirm-message').textContent = message;
    return new Promise(function (resolve) {
      function done(answer) {
        $('confirm-yes').removeEventListener('click', yes);
        $('confirm-no').removeEventListener('click', no);
        dialog.close();
        resolve(answer);
      }
      function yes() { done(true); }
      function no() { done(false); }
      $('confirm-yes').addEventListener('click', yes);
      $('confirm-no').addEventListener('click', no);
      dialog.showModal();
    });
  }

  // --- views -------------------------------------------------------------------------------
  var VIEWS = {};
  function show(view, arg) {
    if (!VIEWS[view]) view = 'overview';
    C.view = view;
    document.querySelectorAll('.view').forEach(function (v) { v.hidden = v.id !== 'view-' + view; });
    document.querySelectorAll('nav button[data-view]').forEach(function (b) { b.setAttribute('aria-current', b.dataset.view === view ? 'page' : 'false'); });
    setStatus('', false);
    C.ready = false;
    return Promise.resolve(VIEWS[view].load(arg)).then(function () { C.loads += 1; C.ready = true; }, failed('Could not load ' + view));
  }

  function taskNames() {
    return call('/admin/reports/tasks').then(function (body) { return body.tasks; });
  }
  function fillSelect(select, values, current, anyLabel) {
    clear(select);
    if (anyLabel) { var any = make('option', anyLabel); any.value = ''; select.appendChild(any); }
    values.forEach(function (v) { var o = make('option', v); o.value = v; if (v === current) o.selected = true; select.appendChild(o); });
  }
`;
