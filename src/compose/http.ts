import path from 'node:path';
import type { Hono } from 'hono';
import type { Config } from '../config.js';
import { requestJobCancel } from '../core/distill/job-cancel.js';
import { cascadeGauges } from '../core/routing/cascade-gauges.js';
import type { Pricing } from '../core/eval/pricing.js';
import type { Clock } from '../core/ports.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';
import { AdmissionControl, type AdmissionStats } from '../http/admission-control.js';
import { createAdminRoutes } from '../http/admin-routes.js';
import { accessLogLine } from '../http/access-log.js';
import { ApiKeyAuthenticator, type ApiKeyRecord } from '../http/api-key-auth.js';
import { createApp, type AppEnv, type MountedRoutes } from '../http/create-app.js';
import { createDistillationRoutes } from '../http/distillation-routes.js';
import { HttpMetrics, type RequestObservation } from '../http/http-metrics.js';
import { createKeyRoutes } from '../http/key-routes.js';
import { createMetricsRoutes } from '../http/metrics-routes.js';
import { emptyBody } from '../http/request-bodies.js';
import { createPairRoutes } from '../http/pair-routes.js';
import { createDashboardRoutes, createReportApiRoutes } from '../http/report-routes.js';
import type { ComposeOptions } from './compose-options.js';
import type { Distillation } from './distillation.js';
import { lazyEndpointProbe } from './endpoint-probe.js';
import type { Models } from './models.js';
import { lazyPublicRoutes } from './lazy-routes.js';
import { loadOrCreateOperatorKey } from './operator-key.js';
import type { Serving } from './serving.js';
import type { Stores } from './stores.js';

// The HTTP surface: keys, the mounted route groups and the app. Keys come from configuration and
// from the key store (POST /admin/keys); a standalone server without configured keys uses its
// operator key, kept as a hash in the data folder and returned in clear only when just made.

export interface GeneratedKey {
  tenant: string;
  /** In clear only at the start that made it: print it once. */
  key?: string;
  scopes: string[];
  /** Where its hash is kept. */
  file: string;
  createdAt: string;
}

interface HttpDeps {
  stores: Stores;
  models: Models;
  serving: Serving;
  distillation: Distillation;
  tasks: TaskCatalog;
  pricing: Pricing;
  clock: Clock;
}

export function createHttp(config: Config, deps: HttpDeps, options: ComposeOptions): { app: Hono<AppEnv>; generatedKeys: GeneratedKey[] } {
  const { stores, tasks, clock } = deps;
  const log = options.log ?? (() => undefined);
  const keys: ApiKeyRecord[] = [...config.apiKeys];
  const generatedKeys: GeneratedKey[] = [];
  if (keys.length === 0 && options.generateKeyIfNone) {
    const operator = loadOrCreateOperatorKey(path.resolve(config.settings.DISTILLERY_DATA_DIR), { rotate: config.settings.DISTILLERY_ROTATE_OPERATOR_KEY });
    keys.push(operator.record);
    generatedKeys.push({ tenant: operator.record.tenant, scopes: operator.record.scopes, file: operator.file, createdAt: operator.createdAt, ...(operator.key ? { key: operator.key } : {}) });
  }
  const auth = new ApiKeyAuthenticator(keys, { store: stores.apiKeys, onStoreError: (err) => log(`api keys: recording last use failed: ${(err as Error).message}`) });
  const admission = new AdmissionControl({ maxInFlight: config.settings.DISTILLERY_MAX_IN_FLIGHT, onRefused: refusalLog(clock, log) });
  const metrics = new HttpMetrics();
  const routes: MountedRoutes[] = [
    {
      path: '/admin',
      scope: 'admin',
      app: createAdminRoutes({
        tasks,
        artifacts: stores.artifacts,
        jobs: stores.jobStore,
        registry: stores.registry,
        triggers: deps.distillation.triggers,
        onModelChange: deps.models.invalidateStudent,
        cancelJob: (job, by) =>
          requestJobCancel({ jobs: stores.jobStore, queue: stores.jobQueue, clock, cancelLocal: (id, who) => deps.distillation.runner.cancelLocal(id, who) }, job, by),
        now: () => clock.now(),
        probeEndpoint: lazyEndpointProbe(config.env, options.fetch),
      }),
    },
    {
      path: '/admin/reports',
      scope: 'admin',
      app: createReportApiRoutes({
        pairStore: stores.pairStore,
        tasks,
        pricing: deps.pricing,
        clock,
        cascade: { registry: stores.registry, jobs: stores.jobStore, monitor: deps.models.cascade, task: (name) => tasks.get(name)?.config },
      }),
    },
    { path: '/admin/distillations', scope: 'admin', app: createDistillationRoutes({ jobs: stores.jobStore, datasetJobs: deps.distillation.datasetJobs, triggers: deps.distillation.triggers }) },
    { path: '/admin/pairs', scope: 'admin', app: createPairRoutes({ pairStore: stores.pairStore, tasks, clock }) },
    { path: '/admin/keys', scope: 'admin', app: createKeyRoutes({ keys: stores.apiKeys, pairStore: stores.pairStore, tasks, clock, onChange: () => auth.forget() }) },
    { path: '/metrics', scope: 'metrics', app: createMetricsRoutes({ http: metrics, admission: () => admission.stats(), pairWriter: () => deps.serving.pairWriter.health(), cascade: () => cascadeGauges(deps.models.cascade) }) },
    { path: '', scope: 'public', app: createDashboardRoutes({}) },
    { path: '', scope: 'public', app: lazyPublicRoutes(['/openapi.json', '/docs/api'], async () => (await import('../http/openapi.js')).createOpenApiRoutes()) },
  ];
  const app = createApp({
    gateway: deps.serving.chat,
    health: () => ({ pairs: deps.serving.pairWriter.health() }),
    tasks,
    models: deps.models.resolver,
    auth,
    clock,
    maxBodyBytes: config.settings.DISTILLERY_MAX_BODY_BYTES,
    ...(options.log ? { log: options.log } : {}),
    corsOrigins: config.settings.DISTILLERY_CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    routes,
    admission,
    bodyRules: ['/admin/tasks/:task/distill', '/admin/jobs/:id/cancel', '/admin/tasks/:task/models/:version/promote', '/admin/tasks/:task/rollback'].map((p) => ({ method: 'POST' as const, path: p, schema: emptyBody })),
    // Without an operator log the access-log line would be built and thrown away on every request.
    observe: observer(metrics, config.settings.DISTILLERY_ACCESS_LOG && options.log ? options.log : undefined),
  });
  return { app, generatedKeys };
}

/** Every answered request counts in the metrics and, when the access log is on, writes its line. */
function observer(metrics: HttpMetrics, accessLog: ((line: string) => void) | undefined): (o: RequestObservation) => void {
  return (o) => {
    metrics.observe(o);
    accessLog?.(accessLogLine(o));
  };
}

/** One log line per second at most while requests are being refused, with the running count. */
function refusalLog(clock: Clock, log: (line: string) => void): (stats: AdmissionStats) => void {
  let lastAt = -Infinity;
  return (stats) => {
    const now = clock.now();
    if (now - lastAt < 1_000) return;
    lastAt = now;
    log(`admission: refused a chat request with 503 (${stats.inFlight} in flight, cap ${stats.maxInFlight}; ${stats.refused} refused so far)`);
  };
}
