import { Hono, type Context } from 'hono';
import { buildCascadeReport, type CascadeReportDeps } from '../core/distill/cascade-report.js';
import { isOperator } from '../core/distill/tenant-scope.js';
import { invalidRequest } from '../core/errors.js';
import { buildOnlineReport, type OnlineReport } from '../core/eval/online-report.js';
import type { Pricing } from '../core/eval/pricing.js';
import { renderOnlineMarkdown, renderOnlineTable } from '../core/eval/report-format.js';
import { buildTrendReport } from '../core/eval/report-trends.js';
import type { AgreementTask } from '../core/pairs/pair-agreement.js';
import type { PairRecord } from '../core/pairs/pair-record.js';
import type { Clock, PairStore } from '../core/ports.js';
import type { TaskConfig } from '../core/tasks/task-schema.js';
import { DASHBOARD_CSS, DASHBOARD_SCRIPT } from './dashboard-assets.js';
import { dashboardPage, dashboardSecurityHeaders } from './dashboard-page.js';
import { chartJsSource } from './static-assets.js';
import type { AppEnv } from './create-app.js';

// Report routes: the online report as JSON / Markdown / text, the dashboard shell and its assets.
// Authentication is the mounting app's job; when it has set `tenant`, only that tenant's pairs are
// read (the operator tenant '*' reads them all). The report streams the store's async iterable, so memory does not grow with the window.

/** Task names, from a list, a catalog of task runtimes, or a function. */
export type ReportTaskSource =
  | readonly string[]
  | { list(): readonly ({ name: string } | { config: { name: string } })[] }
  | (() => readonly string[] | Promise<readonly string[]>);

export interface ReportRoutesDeps {
  pairStore: PairStore;
  tasks: ReportTaskSource;
  pricing: Pricing;
  clock: Clock;
  /** Window used when `since` is absent (default 7 days). */
  defaultWindowInMs?: number;
  title?: string;
  /** Student versions' cascades (GET /cascade): registry, job records, the serving side's online τ. */
  cascade?: CascadeReportDeps & { task(name: string): TaskConfig | undefined };
}

// The app's env, so the sub-apps plug into createApp's `routes` as they are. `tenant` is only set
// behind the authentication middleware; on a public mount it is absent.
type ReportEnv = AppEnv;

const DAY = 86_400_000;

async function taskNames(source: ReportTaskSource): Promise<string[]> {
  if (typeof source === 'function') return [...(await source())];
  if (Array.isArray(source)) return [...(source as readonly string[])];
  return (source as Exclude<ReportTaskSource, readonly string[] | (() => unknown)>)
    .list()
    .map((t) => ('config' in t ? t.config.name : t.name));
}

function isoParam(c: Context, name: string): string | undefined {
  const v = c.req.query(name);
  if (v === undefined || v === '') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidRequest(`${name} must be an ISO-8601 time.`, name, 'invalid_time');
  return new Date(t).toISOString();
}

/** Task runtimes when the source is a catalog, so each task's pairs are judged by its kind. */
function taskRuntimes(source: ReportTaskSource): { tasks?: { get(name: string): AgreementTask | undefined } } {
  const get = (source as { get?: unknown }).get;
  return typeof get === 'function' ? { tasks: source as unknown as { get(name: string): AgreementTask | undefined } } : {};
}

async function* concat(iterables: AsyncIterable<PairRecord>[]): AsyncIterable<PairRecord> {
  for (const it of iterables) yield* it;
}

/**
 * The report API relative to its mount point: `GET /online` and `GET /tasks`. Mount it at
 * `/admin/reports` with the admin scope.
 */
export function createReportApiRoutes(deps: ReportRoutesDeps): Hono<ReportEnv> {
  const app = new Hono<ReportEnv>();

  /** The window, task, bucket and tenant every report route reads the same way. */
  async function reportParams(c: Context<ReportEnv>) {
    const now = deps.clock.now();
    const until = isoParam(c, 'until') ?? new Date(now).toISOString();
    const since = isoParam(c, 'since') ?? new Date(Date.parse(until) - (deps.defaultWindowInMs ?? 7 * DAY)).toISOString();
    if (Date.parse(until) < Date.parse(since)) throw invalidRequest('until must not be before since.', 'until', 'invalid_time');
    const task = c.req.query('task') || undefined;
    const bucketParam = c.req.query('bucketInMs');
    const bucketInMs = bucketParam ? Number(bucketParam) : undefined;
    if (bucketInMs !== undefined && !(Number.isInteger(bucketInMs) && bucketInMs >= 60_000)) {
      throw invalidRequest('bucketInMs must be an integer ≥ 60000.', 'bucketInMs', 'invalid_bucket');
    }
    const known = await taskNames(deps.tasks);
    if (task !== undefined && !known.includes(task)) throw invalidRequest(`Unknown task '${task}'.`, 'task', 'unknown_task');
    // The operator's '*' means every tenant, not a tenant named '*'.
    const keyTenant = (c.get('tenant') as string | undefined) || undefined;
    const tenant = isOperator(keyTenant) ? undefined : keyTenant;
    return { now, since, until, task, bucketInMs, known, tenant };
  }

  app.get('/tasks', async (c) => c.json({ tasks: await taskNames(deps.tasks) }));

  // The console's charts: one online report per bucket and task (core/eval/report-trends.ts).
  app.get('/trends', async (c) => {
    const { since, until, task, bucketInMs, tenant, known } = await reportParams(c);
    const names = task ? [task] : known;
    const signal = c.req.raw.signal;
    const slice = (t: string, s: string, u: string) => deps.pairStore.list({ task: t, tenant, since: s, until: u }, { abortSignal: signal });
    const trend = await buildTrendReport(slice, { pricing: deps.pricing, tenant, since, until, bucketInMs, now: deps.clock.now(), taskNames: names, ...taskRuntimes(deps.tasks) });
    return c.json(trend);
  });

  // Per student version: τ, the risk–coverage curve of its job, and the serving version's online τ.
  app.get('/cascade', async (c) => {
    const cascade = deps.cascade;
    const { task, known, tenant } = await reportParams(c);
    const configs = (task ? [task] : known).map((t) => cascade?.task(t)).filter((t): t is TaskConfig => t !== undefined && t.student?.source === 'registry');
    // The shadow sample spans every tenant: a tenant's key sees the versions and curves, not the online part.
    const scoped = cascade && tenant !== undefined ? { ...cascade, monitor: undefined } : cascade;
    const tasks = scoped ? await Promise.all(configs.map((t) => buildCascadeReport(scoped, t))) : [];
    return c.json({ tasks });
  });

  app.get('/online', async (c) => {
    const format = c.req.query('format') ?? 'json';
    if (!['json', 'md', 'text'].includes(format)) throw invalidRequest('format must be json, md or text.', 'format', 'invalid_format');
    const { since, until, task, bucketInMs, tenant, known, now } = await reportParams(c);
    const signal = c.req.raw.signal;
    const lists = (task ? [task] : known).map((t) => deps.pairStore.list({ task: t, tenant, since, until }, { abortSignal: signal }));
    const report: OnlineReport = await buildOnlineReport(concat(lists), { pricing: deps.pricing, task, tenant, since, until, bucketInMs, now, ...taskRuntimes(deps.tasks) });
    if (format === 'md') return c.body(renderOnlineMarkdown(report), 200, { 'content-type': 'text/markdown; charset=utf-8' });
    if (format === 'text') return c.body(renderOnlineTable(report), 200, { 'content-type': 'text/plain; charset=utf-8' });
    return c.json(report);
  });

  return app;
}

/** The public dashboard shell and its assets: `GET /dashboard`, `GET /assets/{chart.umd.js,dashboard.js,dashboard.css}`. */
export function createDashboardRoutes(deps: Pick<ReportRoutesDeps, 'title'> = {}): Hono<ReportEnv> {
  const app = new Hono<ReportEnv>();
  const security = dashboardSecurityHeaders();

  const page = (c: Context) =>
    c.body(dashboardPage({ title: deps.title }), 200, {
      ...security,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    });
  app.get('/dashboard', page);
  app.get('/console', page);

  const asset = (body: () => string | Promise<string>, type: string) => async (c: Context) =>
    c.body(await body(), 200, { ...security, 'content-type': type, 'cache-control': 'public, max-age=3600' });
  app.get('/assets/chart.umd.js', asset(chartJsSource, 'text/javascript; charset=utf-8'));
  app.get('/assets/dashboard.js', asset(() => DASHBOARD_SCRIPT, 'text/javascript; charset=utf-8'));
  app.get('/assets/dashboard.css', asset(() => DASHBOARD_CSS, 'text/css; charset=utf-8'));

  return app;
}

/**
 * Everything at its full path, for mounting at `/`: `GET /admin/reports/online?task=&since=&until=
 * &format=json|md|text`, `GET /admin/reports/tasks`, `GET /dashboard`, `GET /assets/*`. The mounting
 * app must authenticate `/admin/*` itself; the dashboard and assets are public (they carry no data).
 */
export function createReportRoutes(deps: ReportRoutesDeps): Hono<ReportEnv> {
  const app = new Hono<ReportEnv>();
  app.route('/admin/reports', createReportApiRoutes(deps));
  app.route('/', createDashboardRoutes(deps));
  return app;
}
