// The dashboard page: a static HTML shell with no inline script or style (a strict CSP forbids
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

export function dashboardPage(options: DashboardPageOptions = {}): string {
  const title = escapeHtml(options.title ?? 'Distillery — student vs teacher');
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
  <label>Task <select id="task-select" aria-label="Task"></select></label>
  <button id="reload" type="button">Reload</button>
  <span class="window" id="window"></span>
</header>
<main>
  <form id="key-form" hidden autocomplete="off">
    <label for="api-key">Admin API key</label>
    <input id="api-key" name="api-key" type="password" required>
    <button type="submit">Load report</button>
  </form>
  <div id="status" class="status" role="status" aria-live="polite"></div>
  <section class="card">
    <table>
      <thead><tr><th>task</th><th>requests</th><th>student share</th><th>agreement (95% CI)</th><th>teacher p50</th><th>student p50</th><th>student p99</th><th>cost</th><th>net savings</th></tr></thead>
      <tbody id="summary-body"></tbody>
    </table>
  </section>
  <div class="grid">
    <section class="card"><div class="chart-box"><canvas id="latency-chart" aria-label="Latency distribution per arm" role="img"></canvas></div></section>
    <section class="card"><div class="chart-box"><canvas id="cost-quality-chart" aria-label="Cost vs quality" role="img"></canvas></div></section>
    <section class="card"><div class="chart-box"><canvas id="agreement-chart" aria-label="Agreement over time" role="img"></canvas></div></section>
  </div>
</main>
</body>
</html>
`;
}
