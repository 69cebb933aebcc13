import { Hono } from 'hono';
import { z } from 'zod';
import type { DistillTriggers } from '../core/distill/distill-triggers.js';
import { forbidden, invalidRequest, notFound } from '../core/errors.js';
import { datasetPathOf } from '../core/distill/job-runner.js';
import type { ArtifactStore, JobRecord, JobState, JobStore, ModelRegistry, ModelVersion } from '../core/ports.js';
import type { AppEnv } from './create-app.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';

// Admin API (admin-scoped keys): trigger distillation, follow jobs, list, promote and roll back
// student versions. A key's tenant bounds what it sees; the operator tenant '*' sees everything.

export const OPERATOR_TENANT = '*';

export interface AdminRouteDeps {
  tasks: TaskCatalog;
  artifacts: ArtifactStore;
  jobs: JobStore;
  registry: ModelRegistry;
  triggers: DistillTriggers;
  /** Called after a manual promote/rollback so routers drop cached students at once. */
  onModelChange?: (task: string) => void;
}

const jobStates = ['queued', 'generating', 'building_dataset', 'training', 'evaluating', 'succeeded', 'failed'] as const;
const listJobsQuery = z.object({
  task: z.string().optional(),
  state: z.enum(jobStates).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export function canSee(tenant: string, job: Pick<JobRecord, 'tenant'>): boolean {
  return tenant === OPERATOR_TENANT || job.tenant === undefined || job.tenant === tenant;
}

/** The public view of a job: everything but internal bookkeeping. */
export function jobView(job: JobRecord) {
  const { etag: _etag, spec, ...rest } = job;
  return { object: 'distillation.job', ...rest, ...(spec !== undefined ? { spec } : {}) };
}

export const modelView = (v: ModelVersion) => {
  const { etag: _etag, ...rest } = v;
  return { object: 'distillery.model_version', ...rest };
};

export function createAdminRoutes(deps: AdminRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const requireTask = (name: string) => {
    const task = deps.tasks.get(name);
    if (!task) throw notFound(`Task '${name}' is not configured.`, 'task_not_found', 'task');
    return task;
  };
  // Models are shared by every tenant of a task: only the operator may change which one serves.
  const requireOperator = (tenant: string) => {
    if (tenant !== OPERATOR_TENANT) throw forbidden('Promoting or rolling back a task model needs an operator (tenant "*") admin key.');
  };

  app.get('/tasks', (c) =>
    c.json({
      object: 'list',
      data: deps.tasks.list().map((t) => ({
        name: t.config.name,
        description: t.config.description,
        teacher: t.config.teacher,
        student: t.config.student ?? null,
        routing: t.config.routing,
        distill: t.config.distill,
        classification: t.config.classification ? { labels: t.config.classification.labels.length, labelFormat: t.config.classification.labelFormat } : null,
      })),
    }),
  );

  app.post('/tasks/:task/distill', async (c) => {
    const task = requireTask(c.req.param('task')).config.name;
    const result = await deps.triggers.request(task, { type: 'manual', detail: `admin API (${c.get('principal').keyId})` }, { tenant: c.get('tenant') });
    return c.json({ created: result.created, job: jobView(result.job) }, result.created ? 201 : 200);
  });

  app.get('/jobs', async (c) => {
    const q = listJobsQuery.parse(c.req.query());
    const tenant = c.get('tenant');
    const data = [];
    for await (const job of deps.jobs.list({ ...(q.task ? { task: q.task } : {}), ...(q.state ? { states: [q.state as JobState] } : {}) })) {
      if (!canSee(tenant, job)) continue;
      data.push(jobView(job));
      if (data.length >= q.limit) break;
    }
    return c.json({ object: 'list', data });
  });

  app.get('/jobs/:id', async (c) => {
    const job = await deps.jobs.get(c.req.param('id'));
    if (!job || !canSee(c.get('tenant'), job)) throw notFound(`Job '${c.req.param('id')}' does not exist.`, 'job_not_found');
    return c.json(jobView(job));
  });

  // The versioned dataset a job built: manifest, examples and (generative tasks) fine-tuning files.
  const datasetFiles = ['manifest.json', 'examples.jsonl', 'train.jsonl', 'validation.jsonl', 'validation-report.json'] as const;
  app.get('/jobs/:id/dataset/:file', async (c) => {
    const job = await deps.jobs.get(c.req.param('id'));
    if (!job || !canSee(c.get('tenant'), job)) throw notFound(`Job '${c.req.param('id')}' does not exist.`, 'job_not_found');
    const file = c.req.param('file');
    if (!(datasetFiles as readonly string[]).includes(file)) throw invalidRequest(`file must be one of ${datasetFiles.join(', ')}.`, 'file');
    const bytes = await deps.artifacts.get(`${datasetPathOf(job)}/${file}`);
    if (!bytes) throw notFound(`Job '${job.id}' has no ${file} (yet).`, 'dataset_file_not_found');
    return c.body(new Uint8Array(bytes), 200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/jsonl' });
  });

  app.get('/tasks/:task/models', async (c) => {
    const task = requireTask(c.req.param('task')).config.name;
    const data = [];
    for await (const v of deps.registry.list(task)) data.push(modelView(v));
    return c.json({ object: 'list', data });
  });

  app.post('/tasks/:task/models/:version/promote', async (c) => {
    requireOperator(c.get('tenant'));
    const task = requireTask(c.req.param('task')).config.name;
    const version = Number(c.req.param('version'));
    if (!Number.isInteger(version) || version < 1) throw invalidRequest('version must be a positive integer.', 'version');
    const existing = await deps.registry.get(task, version);
    if (!existing) throw notFound(`Version ${version} of '${task}' does not exist.`, 'model_version_not_found', 'version');
    const promoted = await deps.registry.promote(task, version);
    deps.onModelChange?.(task);
    return c.json(modelView(promoted));
  });

  app.post('/tasks/:task/rollback', async (c) => {
    requireOperator(c.get('tenant'));
    const task = requireTask(c.req.param('task')).config.name;
    const promoted = await deps.registry.rollback(task);
    deps.onModelChange?.(task);
    return c.json(modelView(promoted));
  });

  return app;
}
