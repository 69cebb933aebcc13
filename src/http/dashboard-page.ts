// The console page (the dashboard grown into it): a static HTML shell with no inline script or style (a strict CSP forbids
// both). Chart.js, the page script and the stylesheet are same-origin assets; the data comes from
// GET /admin/reports/online with the admin key the user types in, so the shell itself needs no
// authentication and carries no data.

export interface DashboardPageOptions {
  title?: string;
  /** Where the assets are mounted (default `/assets`). */
  assetsPath?: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Security headers for the dashboard page and its assets. */
export function dashboardSecurityHeaders(): Record<string, string> {
  return {
    'content-security-policy': DASHBOARD_CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  };
}

const TH = (cells: readonly (string | [string, string])[]) =>
  cells.map((c) => (typeof c === 'string' ? `<th>${c}</th>` : `<th title="${escapeHtml(c[1])}">${c[0]}</th>`)).join('');

const SUMMARY_HEAD = TH([
  'task', 'requests', 'student share',
  ['student quality (95% CI)', 'Agreement with the teacher on the random shadow sample: unbiased for the student\'s traffic'],
  ['escalation agreement', 'Agreement on escalated pairs only: the student\'s hardest prompts'],
  ['served agreement', 'What users received vs what the teacher would have said, importance-weighted from the shadow sample'],
  ['accuracy (gold)', 'What users received vs gold labels: dataset references and reviewer feedback'],
  'teacher p50', 'student p50', 'student p99', 'cost',
  ['teacher-only (est.)', 'Every request answered by the teacher, estimated from the shadow sample'],
  'net savings',
]);

const chart = (id: string, label: string) => `<section class="card"><div class="chart-box"><canvas id="${id}" aria-label="${label}" role="img"></canvas></div></section>`;

const OVERVIEW = `<section class="view" id="view-overview" hidden>
  <section class="card table-wrap"><table><thead><tr>${SUMMARY_HEAD}</tr></thead><tbody id="summary-body"></tbody></table></section>
  <div class="grid">
    ${chart('traffic-chart', 'Traffic and student share over time')}
    ${chart('agreement-chart', 'Agreement estimates with intervals over time')}
    ${chart('cost-chart', 'Cost and savings over time')}
    ${chart('errors-chart', 'Errors over time')}
    ${chart('latency-chart', 'Latency percentiles over time')}
  </div>
</section>`;

const PAIRS = `<section class="view" id="view-pairs" hidden>
  <form id="pair-filters" class="card" autocomplete="off">
    <label>Verdict <select id="pf-verdict"><option value="">any</option><option value="disagree">disagree</option><option value="agree">agree</option><option value="not_comparable">not comparable</option></select></label>
    <label>Served by <select id="pf-arm"><option value="">any</option><option value="teacher">teacher</option><option value="student">student</option></select></label>
    <label>Reason <input id="pf-reason" size="12" placeholder="e.g. cascade"></label>
    <label>Model <input id="pf-model" size="12" placeholder="e.g. intents@3"></label>
    <label>Tenant <input id="pf-tenant" size="8" placeholder="operators"></label>
    <label>Feedback <select id="pf-feedback"><option value="">any</option><option value="true">given</option><option value="false">none</option></select></label>
    <button type="submit">Filter</button>
    <span id="pairs-count" class="muted"></span>
  </form>
  <section class="card table-wrap"><table><thead><tr>${TH(['time (UTC)', 'task', 'tenant', 'served by', 'reason', 'verdict', 'prompt', 'teacher', 'student', 'feedback'])}</tr></thead><tbody id="pairs-body"></tbody></table>
  <button id="pairs-more" type="button" hidden>Load more</button></section>
</section>
<section class="view" id="view-pair" hidden>
  <section class="card"><button id="pair-back" type="button">← Pairs</button> <h2 id="pair-title"></h2><p id="pair-meta" class="meta"></p><div id="pair-prompt"></div></section>
  <div class="side-by-side"><section class="card" id="pair-teacher"></section><section class="card" id="pair-student"></section></div>
  <form id="feedback-form" class="card" autocomplete="off">
    <label>Gold label / answer <input id="fb-gold" size="18"></label>
    <label>Thumbs <select id="fb-thumbs"><option value="">—</option><option value="up">up</option><option value="down">down</option></select></label>
    <label>Score <input id="fb-score" type="number" min="0" max="1" step="0.05"></label>
    <label>Comment <input id="fb-comment" size="24"></label>
    <button type="submit">Save feedback</button>
    <span id="fb-saved" class="muted"></span>
  </form>
</section>`;

const JOBS = `<section class="view" id="view-jobs" hidden>
  <section class="card table-wrap"><p id="jobs-count" class="muted"></p><table><thead><tr>${TH(['job', 'task', 'kind', 'state', 'progress', 'trigger', 'updated (UTC)'])}</tr></thead><tbody id="jobs-body"></tbody></table></section>
</section>
<section class="view" id="view-job" hidden>
  <section class="card"><button id="job-back" type="button">← Jobs</button> <h2 id="job-title"></h2>
    <p>State: <strong id="job-state"></strong> · <span id="job-progress-text"></span></p>
    <progress id="job-progress" max="1" value="0"></progress>
    <p id="job-error" class="error"></p>
    <button id="job-cancel" type="button" class="danger">Cancel job</button>
  </section>
  <div class="grid"><section class="card"><h3>Steps</h3><dl id="job-steps"></dl></section><section class="card"><h3>Log</h3><ol id="job-log" class="log"></ol></section></div>
</section>`;

const MODELS = `<section class="view" id="view-models" hidden>
  <section class="card"><h2>Student versions of <span id="models-task"></span></h2><p id="models-promoted" class="muted"></p>
    <button id="models-rollback" type="button" class="danger">Roll back</button></section>
  <section class="card table-wrap"><table><thead><tr>${TH(['version', 'state', 'kind', 'created (UTC)', 'promoted (UTC)', 'metrics', 'lineage', ''])}</tr></thead><tbody id="models-body"></tbody></table></section>
</section>`;

export function dashboardPage(options: DashboardPageOptions = {}): string {
  const title = escapeHtml(options.title ?? 'Distillery console');
  const assets = escapeHtml((options.assetsPath ?? '/assets').replace(/\/$/, ''));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="${assets}/dashboard.css">
<link rel="icon" href="data:,">
<script src="${assets}/chart.umd.js" defer></script>
<script src="${assets}/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>${title}</h1>
  <nav aria-label="Views">
    <button type="button" data-view="overview">Overview</button>
    <button type="button" data-view="pairs">Pairs</button>
    <button type="button" data-view="jobs">Jobs</button>
    <button type="button" data-view="models">Models</button>
  </nav>
  <div class="controls">
    <label>Task <select id="task-select" aria-label="Task"></select></label>
    <label>Range <select id="range-preset" aria-label="Time range">
      <option value="1h">last hour</option><option value="24h">last 24 hours</option><option value="7d" selected>last 7 days</option><option value="30d">last 30 days</option><option value="90d">last 90 days</option><option value="custom">custom (UTC)…</option>
    </select></label>
    <span id="range-custom" class="controls" hidden>
      <input id="range-since" type="datetime-local" aria-label="Since (UTC)"> → <input id="range-until" type="datetime-local" aria-label="Until (UTC)">
      <button id="range-apply" type="button">Apply</button>
    </span>
    <button id="reload" type="button">Reload</button>
    <span class="window" id="window"></span> <span class="muted" id="bucket"></span>
  </div>
</header>
<main>
  <form id="key-form" hidden autocomplete="off">
    <label for="api-key">Admin API key</label>
    <input id="api-key" name="api-key" type="password" required>
    <button type="submit">Open console</button>
  </form>
  <div id="status" class="status" role="status" aria-live="polite"></div>
  ${OVERVIEW}
  ${PAIRS}
  ${JOBS}
  ${MODELS}
</main>
<dialog id="confirm-dialog"><p id="confirm-message"></p><div class="actions"><button id="confirm-no" type="button">Keep as is</button><button id="confirm-yes" type="button" class="danger">Confirm</button></div></dialog>
</body>
</html>
`;
}
