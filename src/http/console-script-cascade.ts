// The console's browser script, the models view's cascade card: for a student version, the
// risk–coverage curve its job measured on the test split (student share against agreement with the
// teacher, its lower bound, the served accuracy when there were gold labels), the chosen point at
// the version's τ, the task's target, and for the serving version the online τ re-estimated from
// the random shadow sample with the shadow rows it rests on (GET /admin/reports/cascade). The card
// is built here, so the page's markup does not change.

export const CONSOLE_SCRIPT_CASCADE = String.raw`
  function tau(x) { return x === null || x === undefined ? '∞' : (+x).toFixed(4); }

  function cascadeCard() {
    var card = $('cascade-card');
    if (card) return card;
    card = make('section', null, 'card');
    card.id = 'cascade-card';
    card.appendChild(make('h2', 'Cascade: risk–coverage'));
    var label = make('label', 'Version ');
    var select = make('select');
    select.id = 'cascade-version';
    label.appendChild(select);
    card.appendChild(label);
    var box = make('div', null, 'chart-box');
    var canvas = make('canvas');
    canvas.id = 'cascade-chart';
    box.appendChild(canvas);
    card.appendChild(box);
    var note = make('p', null, 'muted');
    note.id = 'cascade-note';
    card.appendChild(note);
    var facts = make('dl');
    facts.id = 'cascade-facts';
    card.appendChild(facts);
    $('view-models').appendChild(card);
    select.addEventListener('change', function () { renderCascade(C.cascade, select.value); });
    return card;
  }

  function fact(dl, name, value) { dl.appendChild(make('dt', name)); dl.appendChild(make('dd', value)); }

  function cascadeFacts(v, target) {
    var dl = clear($('cascade-facts'));
    fact(dl, "version's τ", tau(v.threshold) + ' — ' + v.thresholdSource);
    if (v.curve) {
      var c = v.curve.chosen;
      fact(dl, 'chosen point (test split, n = ' + v.curve.n + ')', 'student share ' + pct(c.coverage) + ', agreement ' + pct(c.agreement) + ' (lower bound ' + pct(c.agreementLowerBound) + ')' + (c.servedAccuracy !== undefined ? ', served accuracy ' + pct(c.servedAccuracy) : '') + (c.targetMetOnTest === undefined ? '' : c.targetMetOnTest ? ' — target met' : ' — target NOT met'));
      fact(dl, 'reliability', 'ECE ' + (+v.curve.ece).toFixed(3) + (v.curve.teacherAccuracy !== undefined ? ' · teacher accuracy ' + pct(v.curve.teacherAccuracy) : ''));
    }
    if (target) fact(dl, 'target', JSON.stringify(target));
    var o = v.online;
    if (o) {
      fact(dl, 'shadow sample', o.shadowRows + ' comparable random-shadow rows since ' + when(o.since) + ' (' + o.shadowAgreements + ' agree)');
      if (o.online) fact(dl, 'online τ', tau(o.online.threshold) + ' (' + o.online.state + ', on ' + o.online.rows + ' shadow rows' + (o.online.source === 'report' ? '; estimated for this report, the router has not asked yet' : '') + ') — ' + o.online.reason);
      if (o.shadow) fact(dl, 'shadow rate', pct(o.shadow.rate) + ' (' + o.shadow.state + ') — ' + o.shadow.reason);
    }
  }

  function curveDatasets(v, target) {
    var pts = (v.curve ? v.curve.points : []).filter(function (p) { return p.served > 0; }).slice().sort(function (a, b) { return a.coverage - b.coverage; });
    var xy = function (pick) { return pts.map(function (p) { return { x: 100 * p.coverage, y: 100 * pick(p), tau: p.threshold }; }); };
    var sets = [
      line('agreement with the teacher %', xy(function (p) { return p.agreement; }), COLORS.student, { showLine: true, pointRadius: 3 }),
      line('agreement lower bound %', xy(function (p) { return p.agreementLowerBound; }), COLORS.muted, { showLine: true, borderDash: [4, 4], pointRadius: 0 })
    ];
    if (pts.some(function (p) { return p.servedAccuracy !== undefined; })) sets.push(line('served accuracy % (gold labels)', xy(function (p) { return p.servedAccuracy; }), COLORS.accuracy, { showLine: true, pointRadius: 2 }));
    var c = v.curve && v.curve.chosen;
    if (c && c.served > 0) sets.push(line("chosen τ " + tau(c.threshold), [{ x: 100 * c.coverage, y: 100 * c.agreement, tau: c.threshold }], COLORS.teacher, { pointRadius: 8, pointStyle: 'rectRot' }));
    var o = v.online && v.online.online;
    if (o && o.chosen && o.chosen.served > 0) sets.push(line('online τ ' + tau(o.threshold) + ' (' + o.rows + ' shadow rows)', [{ x: 100 * o.chosen.served / o.chosen.rows, y: 100 * o.chosen.agreement, tau: o.threshold }], COLORS.served, { pointRadius: 8, pointStyle: 'triangle' }));
    if (target && target.minAgreement !== undefined) sets.push(line('target ' + pct(target.minAgreement), [{ x: 0, y: 100 * target.minAgreement }, { x: 100, y: 100 * target.minAgreement }], COLORS.escalation, { showLine: true, pointRadius: 0, borderDash: [2, 2] }));
    return sets;
  }

  function renderCascade(report, version) {
    C.cascade = report;
    var t = report && report.tasks[0];
    var versions = t ? t.versions : [];
    var select = $('cascade-version');
    var withCurve = versions.filter(function (v) { return v.curve || v.online; });
    var promoted = versions.find(function (v) { return v.state === 'promoted'; });
    var pick = version || (promoted && (promoted.curve || promoted.online) ? String(promoted.version) : withCurve[0] && String(withCurve[0].version));
    fillSelect(select, versions.map(function (v) { return String(v.version); }), pick);
    var v = versions.find(function (x) { return String(x.version) === pick; });
    if (charts['cascade-chart']) { charts['cascade-chart'].destroy(); delete charts['cascade-chart']; }
    if (!v) {
      $('cascade-note').textContent = versions.length ? 'No version has a risk–coverage curve yet (its job measures one for in-process students of label tasks).' : 'No student version yet.';
      clear($('cascade-facts'));
      return;
    }
    var target = t.policy.target;
    $('cascade-note').textContent = v.curve ? 'v' + v.version + ': student share against agreement with the teacher on the test split of job ' + v.curve.jobId + ' (one point per τ).' : 'v' + v.version + ' has no curve from its job.';
    cascadeFacts(v, target);
    if (!v.curve) return;
    replaceChart('cascade-chart', {
      type: 'scatter',
      data: { datasets: curveDatasets(v, target) },
      options: Object.assign({}, common, {
        interaction: { mode: 'nearest', intersect: false },
        plugins: {
          title: { display: true, text: 'Risk–coverage of v' + v.version + ' — ' + t.task },
          tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ': ' + ctx.parsed.y.toFixed(1) + '% at ' + ctx.parsed.x.toFixed(1) + '% student share' + (ctx.raw.tau !== undefined ? ' (τ ' + tau(ctx.raw.tau) + ')' : ''); } } }
        },
        scales: { x: { title: { display: true, text: 'student share %' }, min: 0, max: 100 }, y: { title: { display: true, text: '%' }, suggestedMax: 100 } }
      })
    });
  }

  function loadCascade(task) {
    cascadeCard();
    // The versions table stays usable when the cascade report cannot be had; the card says why.
    return call('/admin/reports/cascade?task=' + encodeURIComponent(task)).then(function (r) { renderCascade(r); }, function (err) {
      if (err && err.quiet) return;
      $('cascade-note').textContent = 'Could not load the cascade: ' + (err && err.message ? err.message : err);
    });
  }
`;
