// The console's browser script, part 4: jobs (list, detail with live progress, steps and log,
// cancel through POST /admin/jobs/{id}/cancel), models (versions, lineage, metrics, the cascade's
// risk–coverage curve in console-script-cascade.ts, promote and roll back with confirmation), and
// the start-up wiring.

export const CONSOLE_SCRIPT_OPS = String.raw`
  var ACTIVE = ['queued', 'building_dataset', 'generating', 'training', 'evaluating'];
  var poll = null;
  function stopPolling() { if (poll) { clearTimeout(poll); poll = null; } }

  function jobRow(j) {
    var tr = make('tr', null, 'clickable');
    tr.dataset.id = j.id;
    tr.tabIndex = 0;
    var bar = make('progress');
    bar.max = 1; bar.value = j.progress || 0;
    [j.id, j.task, j.kind, j.state + (j.outcome ? ' (' + j.outcome + ')' : '') + (j.cancelRequested ? ' · cancel requested' : ''), null, j.trigger ? j.trigger.type : '', when(j.updatedAt)].forEach(function (c, i) {
      var td = make('td', c);
      if (i === 4) { td.appendChild(bar); td.appendChild(document.createTextNode(' ' + pct(j.progress || 0))); }
      tr.appendChild(td);
    });
    function open() { location.hash = '#job/' + encodeURIComponent(j.id); }
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', function (e) { if (e.key === 'Enter') open(); });
    return tr;
  }

  VIEWS.jobs = {
    load: function () {
      var q = new URLSearchParams({ limit: '100' });
      if ($('task-select').value) q.set('task', $('task-select').value);
      return call('/admin/jobs?' + q.toString()).then(function (list) {
        var body = clear($('jobs-body'));
        C.jobs = list.data;
        list.data.forEach(function (j) { body.appendChild(jobRow(j)); });
        $('jobs-count').textContent = list.data.length + ' job' + (list.data.length === 1 ? '' : 's');
        // Live progress: refresh while the view is open and a job is still running.
        if (list.data.some(function (j) { return ACTIVE.indexOf(j.state) >= 0; })) poll = setTimeout(function () { if (C.view === 'jobs') VIEWS.jobs.load().catch(failed('Could not refresh jobs')); }, 3000);
      });
    }
  };

  function renderJob(j) {
    C.job = j;
    $('job-title').textContent = j.id + ' · ' + j.task;
    $('job-state').textContent = j.state + (j.outcome ? ' (' + j.outcome + ')' : '') + (j.cancelRequested ? ' · cancel requested at ' + when(j.cancelRequested.at) : '');
    $('job-progress').value = j.progress || 0;
    $('job-progress-text').textContent = pct(j.progress || 0);
    $('job-cancel').disabled = ACTIVE.indexOf(j.state) < 0 || !!j.cancelRequested;
    var steps = clear($('job-steps'));
    Object.keys(j.steps || {}).forEach(function (k) {
      steps.appendChild(make('dt', k));
      steps.appendChild(make('dd', JSON.stringify(j.steps[k], null, 1)));
    });
    if (!steps.firstChild) steps.appendChild(make('dd', 'No step has finished yet.'));
    var log = clear($('job-log'));
    (j.log || []).forEach(function (e) { log.appendChild(make('li', when(e.at) + ' ' + e.level + ' ' + e.message, 'log-' + e.level)); });
    $('job-error').textContent = j.error ? j.error.code + ': ' + j.error.message : '';
  }

  VIEWS.job = {
    load: function (id) {
      C.jobId = decodeURIComponent(id || '');
      return call('/admin/jobs/' + encodeURIComponent(C.jobId)).then(function (j) {
        renderJob(j);
        if (ACTIVE.indexOf(j.state) >= 0) poll = setTimeout(function () { if (C.view === 'job') VIEWS.job.load(id).catch(failed('Could not refresh the job')); }, 2000);
      });
    }
  };

  function cancelJob() {
    var id = C.jobId;
    return confirmAction('Cancel job ' + id + '? Its running step stops and the job ends cancelled.').then(function (yes) {
      if (!yes) return;
      return call('/admin/jobs/' + encodeURIComponent(id) + '/cancel', { method: 'POST', body: {} }).then(function (j) {
        renderJob(j && j.job ? j.job : j);
        setStatus('Cancel requested for job ' + id + '.', false);
      }, failed('Could not cancel the job'));
    });
  }

  function modelRow(v, task) {
    var tr = make('tr', null, 'state-' + v.state);
    var metrics = Object.keys(v.metrics || {}).map(function (k) { var x = v.metrics[k]; return k + ' ' + (Math.abs(x) <= 1 && k.indexOf('InMs') < 0 ? pct(x) : +x.toFixed(3)); }).join(' · ');
    var lineage = [v.lineage.jobId ? 'job ' + v.lineage.jobId : '', v.lineage.datasetVersion ? 'dataset ' + v.lineage.datasetVersion : '', v.lineage.teacherModel ? 'teacher ' + v.lineage.teacherModel : ''].filter(Boolean).join(' · ');
    [String(v.version), v.state, v.kind, when(v.createdAt), when(v.promotedAt), metrics || '—', lineage || '—'].forEach(function (c, i) { tr.appendChild(make('td', c, i >= 5 ? 'text' : '')); });
    var td = make('td');
    if (v.state !== 'promoted') {
      var b = make('button', 'Promote v' + v.version);
      b.type = 'button';
      b.dataset.promote = String(v.version);
      b.addEventListener('click', function () { promote(task, v.version); });
      td.appendChild(b);
    }
    tr.appendChild(td);
    return tr;
  }

  VIEWS.models = {
    load: function () {
      var select = $('task-select');
      var task = select.value || (select.options[1] && select.options[1].value);
      $('models-task').textContent = task || '—';
      if (!task) return;
      return call('/admin/tasks/' + encodeURIComponent(task) + '/models').then(function (list) {
        C.models = list.data;
        var body = clear($('models-body'));
        list.data.forEach(function (v) { body.appendChild(modelRow(v, task)); });
        if (!list.data.length) body.appendChild(make('tr')).appendChild(make('td', 'No student version yet.'));
        var promoted = list.data.find(function (v) { return v.state === 'promoted'; });
        $('models-promoted').textContent = promoted ? 'Serving: v' + promoted.version : 'No version is promoted: the teacher serves.';
        return loadCascade(task);
      });
    }
  };

  function afterModelChange(what) {
    return function (v) {
      C.ready = false;
      return VIEWS.models.load().then(function () {
        setStatus(what + ': v' + v.version + ' of ' + v.task + ' now serves.', false);
        C.loads += 1;
        C.ready = true;
      });
    };
  }
  function promote(task, version) {
    return confirmAction('Promote v' + version + ' of ' + task + '? It serves the task\'s student traffic at once.').then(function (yes) {
      if (!yes) return;
      return call('/admin/tasks/' + encodeURIComponent(task) + '/models/' + version + '/promote', { method: 'POST', body: {} }).then(afterModelChange('Promoted'), failed('Could not promote'));
    });
  }
  function rollback() {
    var task = $('models-task').textContent;
    return confirmAction('Roll back ' + task + ' to the version promoted before the current one?').then(function (yes) {
      if (!yes) return;
      return call('/admin/tasks/' + encodeURIComponent(task) + '/rollback', { method: 'POST', body: {} }).then(afterModelChange('Rolled back'), failed('Could not roll back'));
    });
  }

  // --- start-up --------------------------------------------------------------------------------
  function route() {
    stopPolling();
    var h = location.hash.replace(/^#/, '');
    var slash = h.indexOf('/');
    var view = slash < 0 ? h : h.slice(0, slash);
    return show(view || 'overview', slash < 0 ? '' : h.slice(slash + 1));
  }
  function start() {
    return taskNames().then(function (names) {
      $('key-form').hidden = true;
      fillSelect($('task-select'), names, params.get('task') || $('task-select').value, 'all tasks');
      return route();
    }, failed('Could not start'));
  }

  document.addEventListener('DOMContentLoaded', function () {
    // ?since=&until= (UTC) opens a custom range, e.g. a link to an incident's window.
    if (params.get('since') || params.get('until')) {
      $('range-preset').value = 'custom';
      $('range-since').value = (params.get('since') || '').replace(/Z$/, '').slice(0, 16);
      $('range-until').value = (params.get('until') || '').replace(/Z$/, '').slice(0, 16);
    } else if (params.get('range') && $('range-preset').querySelector('option[value="' + params.get('range') + '"]')) $('range-preset').value = params.get('range');
    $('key-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var v = $('api-key').value.trim();
      if (v) sessionStorage.setItem(KEY, v);
      $('api-key').value = '';
      start();
    });
    document.querySelectorAll('nav button[data-view]').forEach(function (b) {
      b.addEventListener('click', function () { if (location.hash === '#' + b.dataset.view) route(); else location.hash = '#' + b.dataset.view; });
    });
    window.addEventListener('hashchange', route);
    $('range-preset').addEventListener('change', function () { syncCustomInputs(); if ($('range-preset').value !== 'custom') route(); });
    $('range-apply').addEventListener('click', route);
    $('task-select').addEventListener('change', route);
    $('reload').addEventListener('click', route);
    $('pair-filters').addEventListener('submit', function (e) { e.preventDefault(); C.ready = false; loadPairs(false).then(function () { C.loads += 1; C.ready = true; }, failed('Could not load pairs')); });
    $('pairs-more').addEventListener('click', function () { loadPairs(true).catch(failed('Could not load more pairs')); });
    $('feedback-form').addEventListener('submit', saveFeedback);
    $('pair-back').addEventListener('click', function () { location.hash = '#pairs'; });
    $('job-back').addEventListener('click', function () { location.hash = '#jobs'; });
    $('job-cancel').addEventListener('click', cancelJob);
    $('models-rollback').addEventListener('click', rollback);
    syncCustomInputs();
    if (!window.Chart) { setStatus('Chart.js did not load', true); return; }
    if (!sessionStorage.getItem(KEY)) { showKeyForm(); return; }
    start();
  });
`;
