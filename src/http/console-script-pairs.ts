// The console's browser script, part 3: the pair browser (GET /admin/pairs with filters and a
// cursor) and the pair view (GET /admin/pairs/{id}: prompt, both answers side by side with a word
// diff, latency, cost, and the feedback form posting to /admin/pairs/{id}/feedback).

export const CONSOLE_SCRIPT_PAIRS = String.raw`
  var pairState = { cursor: null, current: null };

  function pairQuery() {
    var q = rangeQuery(new URLSearchParams({ limit: '50' }));
    var task = $('task-select').value;
    if (task) q.set('task', task);
    ['verdict', 'arm', 'reason', 'model', 'tenant', 'feedback'].forEach(function (k) {
      var v = $('pf-' + k).value.trim();
      if (v) q.set(k, v);
    });
    return q;
  }

  function pairRow(p) {
    var tr = make('tr');
    tr.dataset.id = p.id;
    tr.tabIndex = 0;
    tr.className = 'clickable verdict-' + p.verdict;
    [when(p.createdAt), p.task, p.tenant, p.servedArm, p.reason, p.verdict.replace('_', ' '), p.prompt,
      p.teacher ? (p.teacher.error ? 'error: ' + p.teacher.error : p.teacher.answer) : '—',
      p.student ? (p.student.error ? 'error: ' + p.student.error : p.student.answer) : '—',
      p.feedback ? (p.feedback.thumbs === 'up' ? '👍' : p.feedback.thumbs === 'down' ? '👎' : '✓') : ''
    ].forEach(function (c, i) { tr.appendChild(make('td', c, i === 6 || i === 7 || i === 8 ? 'text' : '')); });
    function open() { location.hash = '#pair/' + encodeURIComponent(p.task) + '/' + encodeURIComponent(p.tenant) + '/' + encodeURIComponent(p.id); }
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', function (e) { if (e.key === 'Enter') open(); });
    return tr;
  }

  function loadPairs(more) {
    var q = pairQuery();
    if (more && pairState.cursor) q.set('cursor', pairState.cursor);
    return call('/admin/pairs?' + q.toString()).then(function (page) {
      var body = $('pairs-body');
      if (!more) { clear(body); C.pairs = []; }
      page.data.forEach(function (p) { C.pairs.push(p); body.appendChild(pairRow(p)); });
      pairState.cursor = page.next_cursor;
      $('pairs-more').hidden = !page.has_more;
      $('pairs-count').textContent = C.pairs.length + ' pair' + (C.pairs.length === 1 ? '' : 's') + (page.has_more ? ' so far (scanned ' + page.scanned + ' in the last page)' : '');
    });
  }

  VIEWS.pairs = { load: function () { return loadPairs(false); } };

  // A word-level diff (longest common subsequence): words only one side has are marked.
  function diffWords(a, b) {
    var x = a.split(/\s+/).filter(Boolean).slice(0, 400), y = b.split(/\s+/).filter(Boolean).slice(0, 400);
    var n = x.length, m = y.length, dp = [];
    for (var i = 0; i <= n; i++) { dp.push(new Array(m + 1).fill(0)); }
    for (i = n - 1; i >= 0; i--) for (var j = m - 1; j >= 0; j--) dp[i][j] = x[i] === y[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    var left = [], right = [];
    i = 0; j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) { left.push([x[i], false]); right.push([y[j], false]); i++; j++; }
      else if (j >= m || (i < n && dp[i + 1][j] >= dp[i][j + 1])) { left.push([x[i], true]); i++; }
      else { right.push([y[j], true]); j++; }
    }
    return [left, right];
  }
  function renderWords(el, words) {
    clear(el);
    words.forEach(function (w) { el.appendChild(w[1] ? make('mark', w[0]) : document.createTextNode(w[0])); el.appendChild(document.createTextNode(' ')); });
  }

  function armCard(id, arm, out, otherText) {
    var card = clear($(id));
    card.appendChild(make('h3', arm + (out ? ' · ' + out.model + ' · ' + out.role : ' · did not run')));
    if (!out) return;
    var meta = make('p', 'latency ' + ms(out.latencyInMs) + ' · cost ' + usd(out.costUsd) + (out.usage ? ' · tokens ' + out.usage.promptTokens + ' + ' + out.usage.completionTokens : '') + (out.confidence !== undefined ? ' · confidence ' + pct(out.confidence) : ''), 'meta');
    card.appendChild(meta);
    if (out.error) card.appendChild(make('p', 'error: ' + out.error.code + ' — ' + out.error.message, 'error'));
    var answer = make('div', null, 'answer');
    answer.dataset.arm = arm;
    card.appendChild(answer);
    return { el: answer, text: out.text || '' };
  }

  function renderPair(p) {
    C.pair = p;
    $('pair-title').textContent = p.task + ' · ' + p.id;
    $('pair-meta').textContent = when(p.createdAt) + ' UTC · tenant ' + p.tenant + ' · served by ' + p.servedArm + ' · reason: ' + p.reason + ' · policy ' + p.policy + ' · verdict: ' + p.verdict.replace('_', ' ');
    var prompt = clear($('pair-prompt'));
    p.request.messages.forEach(function (m) {
      var content = typeof m.content === 'string' ? m.content : JSON.stringify(m.content);
      var row = make('div', null, 'message');
      row.appendChild(make('strong', m.role + ': '));
      row.appendChild(document.createTextNode(content));
      prompt.appendChild(row);
    });
    var t = armCard('pair-teacher', 'teacher', p.teacher);
    var s = armCard('pair-student', 'student', p.student);
    if (t && s) {
      var d = diffWords(t.text, s.text);
      renderWords(t.el, d[0]);
      renderWords(s.el, d[1]);
    } else {
      if (t) t.el.textContent = t.text;
      if (s) s.el.textContent = s.text;
    }
    var f = p.feedback || {};
    $('fb-gold').value = f.gold || '';
    $('fb-thumbs').value = f.thumbs || '';
    $('fb-score').value = f.score === undefined ? '' : String(f.score);
    $('fb-comment').value = f.comment || '';
    $('fb-saved').textContent = p.feedback ? 'Feedback from ' + (f.by || 'a reviewer') + ' at ' + when(f.at) : 'No feedback yet.';
  }

  VIEWS.pair = {
    load: function (arg) {
      var parts = (arg || '').split('/').map(decodeURIComponent);
      pairState.current = { task: parts[0], tenant: parts[1], id: parts[2] };
      return call(pairPath('')).then(renderPair);
    }
  };
  function pairPath(suffix) {
    var c = pairState.current;
    return '/admin/pairs/' + encodeURIComponent(c.id) + suffix + '?' + new URLSearchParams({ task: c.task, tenant: c.tenant }).toString();
  }

  function saveFeedback(e) {
    e.preventDefault();
    var body = {};
    var gold = $('fb-gold').value.trim(), thumbs = $('fb-thumbs').value, score = $('fb-score').value, comment = $('fb-comment').value.trim();
    if (gold) body.gold = gold;
    if (thumbs) body.thumbs = thumbs;
    if (score !== '') body.score = Number(score);
    if (comment) body.comment = comment;
    return call(pairPath('/feedback'), { method: 'POST', body: body }).then(function (p) {
      renderPair(p);
      setStatus('Feedback saved.', false);
    }, failed('Could not save the feedback'));
  }
`;
