// The console's browser script, part 2: the overview — the summary table of the online report
// (labelled agreement estimates with their intervals, gold accuracy, latency, cost) and the
// trends from GET /admin/reports/trends: traffic and student share, the estimates with interval
// bands, cost and savings, errors, latency percentiles.

export const CONSOLE_SCRIPT_OVERVIEW = String.raw`
  var charts = C.charts = {};
  function replaceChart(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new window.Chart($(id), config);
    return charts[id];
  }

  function renderSummary(r) {
    var body = clear($('summary-body'));
    r.tasks.forEach(function (t) {
      var tr = make('tr');
      var ag = t.agreement;
      var ref = t.reference;
      var teacherOnly = t.cost.teacherOnly;
      [
        t.task,
        String(t.requests),
        pct(t.requests ? t.servedBy.student / t.requests : null),
        estimate(ag.studentQuality, ag.studentQuality.n),
        estimate(ag.escalation, ag.escalation.n),
        estimate(ag.served, ag.served.sample),
        ref && ref.served ? estimate({ rate: ref.served.estimate, interval: ref.served }, ref.servedPairs) : '—',
        t.arms.teacher ? ms(t.arms.teacher.latency.p50InMs) : '—',
        t.arms.student ? ms(t.arms.student.latency.p50InMs) : '—',
        t.arms.student ? ms(t.arms.student.latency.p99InMs) : '—',
        usd(t.cost.total.totalUsd),
        teacherOnly.usd === null ? 'unknown' : usd(teacherOnly.usd),
        t.cost.ledger ? usd(t.cost.ledger.netSavingsUsd) + ' (' + pct(t.cost.ledger.netSavingsRatio) + ')' : '—'
      ].forEach(function (c) { tr.appendChild(make('td', c)); });
      body.appendChild(tr);
    });
  }

  var common = { animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: 'index', intersect: false } };
  function line(label, data, color, extra) {
    return Object.assign({ label: label, data: data, borderColor: color, backgroundColor: color, spanGaps: true, pointRadius: 2 }, extra || {});
  }
  function titled(text, scales) { return Object.assign({}, common, { plugins: { title: { display: true, text: text } }, scales: scales || {} }); }
  // An estimate with its interval: the line and a shaded band between the interval's ends.
  function band(label, points, pick, color) {
    var e = points.map(pick);
    return [
      line(label + ' lower', e.map(function (x) { return x && x.interval ? 100 * x.interval.lower : null; }), 'transparent', { pointRadius: 0, fill: false, hidden: false, intervalOf: label }),
      line(label + ' upper', e.map(function (x) { return x && x.interval ? 100 * x.interval.upper : null; }), 'transparent', { pointRadius: 0, fill: '-1', backgroundColor: color + '33', intervalOf: label }),
      line(label, e.map(function (x) { return x && x.rate !== null && x.rate !== undefined ? 100 * x.rate : null; }), color)
    ];
  }

  function renderTrends(trend, taskName) {
    var series = trend.tasks.find(function (t) { return t.task === taskName; }) || trend.tasks[0];
    if (!series) return;
    var pts = series.points;
    var labels = pts.map(function (p) { return when(p.start).slice(0, 16); });
    var bucket = ' — ' + series.task + ' (' + ms(trend.bucketInMs) + ' buckets)';
    $('bucket').textContent = ms(trend.bucketInMs) + ' buckets';
    replaceChart('traffic-chart', { type: 'bar', data: { labels: labels, datasets: [
      { type: 'bar', label: 'requests', data: pts.map(function (p) { return p.requests; }), backgroundColor: COLORS.teacher, yAxisID: 'y' },
      line('student share %', pts.map(function (p) { return p.studentShare === null ? null : 100 * p.studentShare; }), COLORS.student, { type: 'line', yAxisID: 'share' })
    ] }, options: titled('Traffic and student share' + bucket, { y: { title: { display: true, text: 'requests' } }, share: { position: 'right', min: 0, max: 100, grid: { drawOnChartArea: false } } }) });

    var quality = band('student quality % (random shadow)', pts, function (p) { return p.studentQuality; }, COLORS.student)
      .concat(band('served agreement %', pts, function (p) { return p.served; }, COLORS.served))
      .concat([line('escalation agreement %', pts.map(function (p) { return p.escalation && p.escalation.rate !== null ? 100 * p.escalation.rate : null; }), COLORS.escalation, { borderDash: [4, 4] })])
      .concat(band('accuracy % (gold labels)', pts, function (p) { return p.accuracy ? { rate: p.accuracy.estimate, interval: p.accuracy } : null; }, COLORS.accuracy));
    replaceChart('agreement-chart', { type: 'line', data: { labels: labels, datasets: quality },
      options: Object.assign(titled('Agreement estimates with 95% intervals' + bucket, { y: { suggestedMin: 50, max: 100 } }), {
        plugins: { title: { display: true, text: 'Agreement estimates with 95% intervals' + bucket }, legend: { labels: { filter: function (item, data) { return !data.datasets[item.datasetIndex].intervalOf; } } } }
      }) });

    replaceChart('cost-chart', { type: 'line', data: { labels: labels, datasets: [
      line('cost (USD)', pts.map(function (p) { return p.costUsd; }), COLORS.student),
      line('teacher-only (est., USD)', pts.map(function (p) { return p.teacherOnlyUsd; }), COLORS.teacher, { borderDash: [4, 4] }),
      line('net savings (USD)', pts.map(function (p) { return p.netSavingsUsd; }), COLORS.served)
    ] }, options: titled('Cost and savings' + bucket) });

    replaceChart('errors-chart', { type: 'bar', data: { labels: labels, datasets: [
      { label: 'errors', data: pts.map(function (p) { return p.errors; }), backgroundColor: COLORS.accuracy, yAxisID: 'y' },
      line('error rate %', pts.map(function (p) { return p.errorRate === null ? null : 100 * p.errorRate; }), COLORS.muted, { type: 'line', yAxisID: 'rate' })
    ] }, options: titled('Errors' + bucket, { rate: { position: 'right', min: 0, grid: { drawOnChartArea: false } } }) });

    var lat = [];
    ['teacher', 'student'].forEach(function (arm) {
      [['p50InMs', []], ['p95InMs', [6, 3]], ['p99InMs', [2, 2]]].forEach(function (q) {
        lat.push(line(arm + ' ' + q[0].replace('InMs', ''), pts.map(function (p) { return p.latency[arm] ? p.latency[arm][q[0]] : null; }), COLORS[arm], { borderDash: q[1] }));
      });
    });
    replaceChart('latency-chart', { type: 'line', data: { labels: labels, datasets: lat }, options: titled('Latency percentiles (ms)' + bucket, { y: { type: 'logarithmic' } }) });
  }

  VIEWS.overview = {
    load: function () {
      var task = $('task-select').value;
      var q = rangeQuery(new URLSearchParams());
      var tq = new URLSearchParams(q);
      if (task) tq.set('task', task);
      $('window').textContent = (q.get('since') || '') + ' → ' + (q.get('until') || '');
      return Promise.all([call('/admin/reports/online?' + q.toString()), call('/admin/reports/trends?' + tq.toString())]).then(function (res) {
        C.report = res[0];
        C.trend = res[1];
        $('window').textContent = when(res[0].window.since) + ' → ' + when(res[0].window.until) + ' UTC · ' + res[0].totals.pairs + ' pairs';
        renderSummary(res[0]);
        renderTrends(res[1], task);
        if (res[0].tasks.length === 0) setStatus('No pairs in this window.', false);
      });
    }
  };
`;
