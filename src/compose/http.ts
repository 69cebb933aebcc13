import type { Hono } from 'hono';
import type { Config } from '../config.js';
import { requestJobCancel } from '../core/distill/job-cancel.js';
import type { Pricing } from '../core/eval/pricing.js';
import type { Clock } from '../core/ports.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';
import { AdmissionControl, type AdmissionStats } from '../http/admission-control.js';
import { createAdminRoutes } from '../http/admin-routes.js';
import { ApiKeyAuthenticator, generateApiKey, type ApiKeyRecord } from '../http/api-key-auth.js';
import { createApp, type AppEnv, type MountedRoutes } from '../http/create-app.js';
import { createDistillationRoutes } from '../http/distillation-routes.js';
import { createOpenApiRoutes } from '../http/openapi.js';
import { createPairRoutes } from '../http/pair-routes.js';
import { createDashboardRoutes, createReportApiRoutes } from '../http/report-routes.js';
import type { ComposeOptions } from './compose-options.js';
import type { Distillation } from './distillation.js';
import type { Models } from './models.js';
import type { Serving } from './serving.js';
import type { Stores } from './stores.js';

// The HTTP surface: keys, the mounted route groups and the app. Keys come from configuration; a
// standalone server without any generates one operator key, returned in clear to print once.

export interface GeneratedKey {
  tenant: string;
  key: string;
  scopes: string[];
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
  const keys: ApiKeyRecord[] = [...config.apiKeys];
  const generatedKeys: GeneratedKey[] = [];
  if (keys.length === 0 && options.generateKeyIfNone) {
    // The one generated key is the operator's: it sees every tenant.
    const { key, record } = generateApiKey('*', ['chat', 'admin']);
    keys.push(record);
    generatedKeys.push({ tenant: record.tenant, key, scopes: record.scopes });
  }
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
      }),
    },
    { path: '/admin/reports', scope: 'admin', app: createReportApiRoutes({ pairStore: stores.pairStore, tasks, pricing: deps.pricing, clock }) },
    { path: '/admin/distillations', scope: 'admin', app: createDistillationRoutes({ jobs: stores.jobStore, datasetJobs: deps.distillation.datasetJobs, triggers: deps.distillation.triggers }) },
    { path: '/admin/pairs', scope: 'admin', app: createPairRoutes({ pairStore: stores.pairStore, tasks, clock }) },
    { path: '', scope: 'public', app: createDashboardRoutes({}) },
    { path: '', scope: 'public', app: createOpenApiRoutes() },
  ];
  const app = createApp({
    gateway: deps.serving.chat,
    health: () => ({ pairs: deps.serving.pairWriter.health() }),
    tasks,
    models: deps.models.resolver,
    auth: new ApiKeyAuthenticator(keys),
    clock,
    maxBodyBytes: config.settings.DISTILLERY_MAX_BODY_BYTES,
    ...(options.log ? { log: options.log } : {}),
    corsOrigins: config.settings.DISTILLERY_CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    routes,
    admission: new AdmissionControl({
      maxInFlight: config.settings.DISTILLERY_MAX_IN_FLIGHT,
      onRefused: refusalLog(clock, options.log ?? (() => undefined)),
    }),
  });
  return { app, generatedKeys };
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
