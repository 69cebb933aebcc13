import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { DEFAULT_PRICING } from '../../src/core/eval/pricing.js';
import type { AppEnv } from '../../src/http/create-app.js';
import { toOpenAIError } from '../../src/http/error-mapping.js';
import { createReportApiRoutes, createReportRoutes } from '../../src/http/report-routes.js';
import { chartJsSource } from '../../src/http/static-assets.js';
import { generatePairs } from '../integration/eval-seed-pairs.js';

const pairs = generatePairs({ count: 600, seed: 3, tenants: ['acme', 'globex'] });
const now = Date.parse('2026-11-08T00:00:00.000Z');
let store: SqlitePairStore;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (res: Response): Promise<any> => res.json();

function appWith(tenant?: string) {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => {
    const { status, body } = toOpenAIError(err);
    return c.json(body, status);
  });
  if (tenant) app.use('*', async (c, next) => { c.set('tenant', tenant); await next(); });
  app.route('/', createReportRoutes({ pairStore: store, tasks: ['bank-intents', 'support-chat'], pricing: DEFAULT_PRICING, clock: { now: () => now } }));
  return app;
}

beforeAll(async () => {
  store = new SqlitePairStore({ path: ':memory:' });
  await store.upsertMany(pairs);
});
afterAll(async () => {
  await store.close();
});

describe('report routes', () => {
  it('GET /admin/reports/online returns the JSON report for the default 7-day window', async () => {
    const res = await appWith().request('/admin/reports/online?task=bank-intents');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.kind).toBe('online');
    expect(body.window).toEqual({ since: '2026-11-01T00:00:00.000Z', until: '2026-11-08T00:00:00.000Z' });
    expect(body.tasks.map((t: { task: string }) => t.task)).toEqual(['bank-intents']);
    expect(body.totals.pairs).toBe(pairs.filter((p) => p.task === 'bank-intents').length);
  });

  it('covers every task without a task parameter and filters by the tenant the app set', async () => {
    const all = await json(await appWith().request('/admin/reports/online'));
    expect(all.totals.pairs).toBe(pairs.length);
    const globex = await json(await appWith('globex').request('/admin/reports/online'));
    expect(globex.totals.pairs).toBe(pairs.filter((p) => p.tenant === 'globex').length);
    expect(globex.filters.tenant).toBe('globex');
  });

  it('renders Markdown and text', async () => {
    const md = await appWith().request('/admin/reports/online?task=support-chat&format=md');
    expect(md.headers.get('content-type')).toContain('text/markdown');
    expect(await md.text()).toContain('# Online report');
    const txt = await appWith().request('/admin/reports/online?format=text');
    expect(await txt.text()).toContain('support-chat');
  });

  it('answers bad parameters with OpenAI-style 400s', async () => {
    for (const q of ['format=xml', 'since=yesterday', 'task=nope', 'bucketInMs=5', 'since=2026-11-05T00:00:00Z&until=2026-11-01T00:00:00Z']) {
      const res = await appWith().request(`/admin/reports/online?${q}`);
      expect(res.status, q).toBe(400);
      expect((await json(res)).error.type).toBe('invalid_request_error');
    }
  });

  it('serves the dashboard with a strict CSP and no inline script or style', async () => {
    const res = await appWith().request('/dashboard');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    expect(html).not.toMatch(/<style|style=/);
    expect(html).toContain('src="/assets/chart.umd.js"');
  });

  it('serves Chart.js from the installed package and the dashboard assets', async () => {
    const res = await appWith().request('/assets/chart.umd.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('javascript');
    const src = await res.text();
    expect(src).toContain('Chart.js v4');
    expect(src).toBe(await chartJsSource());
    expect((await appWith().request('/assets/dashboard.js')).status).toBe(200);
    expect((await appWith().request('/assets/dashboard.css')).headers.get('content-type')).toContain('text/css');
  });

  it('the API sub-app mounts under a prefix on its own', async () => {
    const app = new Hono<AppEnv>();
    app.route('/admin/reports', createReportApiRoutes({ pairStore: store, tasks: { list: () => [{ config: { name: 'bank-intents' } }] }, pricing: DEFAULT_PRICING, clock: { now: () => now } }));
    const res = await app.request('/admin/reports/tasks');
    expect(await json(res)).toEqual({ tasks: ['bank-intents'] });
  });
});
