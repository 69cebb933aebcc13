import { Hono } from 'hono';
import { z } from 'zod';
import type { DistillTriggers } from '../core/distill/distill-triggers.js';
import { DistilleryError, forbidden, invalidRequest, notFound } from '../core/errors.js';
import { datasetPathOf, isTerminal } from '../core/distill/job-runner.js';
import { canDownloadDataset, canSeeJob, isOperator, OPERATOR_TENANT } from '../core/distill/tenant-scope.js';
import type { DatasetExample, Split } from '../core/distill/dataset-builder.js';
import { EXPORT_FORMATS, exportDataset, type ExportFormat } from '../core/distill/dataset-export.js';
import type { ArtifactStore, JobRecord, JobState, JobStore, ModelRegistry, ModelVersion } from '../core/ports.js';
import type { AppEnv } from './create-app.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';
import type { EndpointProbe } from '../core/chat/endpoint-probe.js';
import { checkRegistration, parseRegisterModelBody, registeredVersion } from './model-registration.js';
import { readJsonBody } from './read-json-body.js';

// Admin API (admin-scoped keys): trigger distillation, follow jobs, list, promote and roll back
// student versions. A key's tenant bounds what it sees; the operator tenant '*' sees everything.
// Another tenant's job or dataset is answered like a missing one (404), never 403.

export { OPERATOR_TENANT };

export interface AdminRouteDeps {
  tasks: TaskCatalog;
  artifacts: ArtifactStore;
  jobs: JobStore;
  registry: ModelRegistry;
  triggers: DistillTriggers;
  /** Called after a manual promote/rollback so routers drop cached students at once. */
  onModelChange?: (task: string) => void;
  /** Leaves a cancel request on an active job (core/distill/job-cancel.ts); absent: cancel answers 501. */
  cancelJob?: (job: JobRecord, by: string) => Promise<JobRecord>;
  /** The time the detail view judges leases by. */
  now?: () => number;
  /** Checks a registered endpoint (key setting, GET /models, one chat) before it is written; absent: no check. */
  probeEndpoint?: EndpointProbe;
}

const jobStates = ['queued', 'generating', 'building_dataset', 'training', 'evaluating', 'succeeded', 'failed', 'cancelled'] as const;
const listJobsQuery = z.object({
  task: z.string().optional(),
  state: z.enum(jobStates).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** Jobs without a tenant (system triggers, older records) are the operator's. */
export const canSee = canSeeJob;

/** The public view of a job: everything but internal bookkeeping. */
export function jobView(job: JobRecord) {
  const { etag: _etag, spec, ...rest } = job;
  return { object: 'distillation.job', ...rest, ...(spec !== undefined ? { spec } : {}) };
}

/**
 * One job in detail, for an operator deciding whether to act: who holds it and until when, how
 * many deliveries and take-overs it has had, when a failed attempt runs again and why it failed.
 * The fields are always present (null when not applicable) so a client can rely on them.
 */
export function jobDetailView(job: JobRecord, now: number) {
  const active = !isTerminal(job.state);
  const lease = job.lease && active ? { ...job.lease, live: Date.parse(job.lease.expiresAt) > now } : null;
  return {
    ...jobView(job),
    lease,
    deliveries: job.deliveries ?? 0,
    resumes: job.resumes ?? 0,
    // A retry is pending only while nobody runs the job.
    nextRetryAt: active && !lease?.live ? (job.nextRetryAt ?? null) : null,
    lastError: job.lastError ?? null,
    cancelRequested: job.cancelRequested ?? null,
  };
}

export const modelView = (v: ModelVersion) => {
  const { etag: _etag, ...rest } = v;
  return { object: 'distillery.model_version', ...rest };
};

// Shared by the route groups below: a task must be configured, a job visible to the key's tenant.
function lookups(deps: AdminRouteDeps) {
  const requireTask = (name: string) => {
    const task = deps.tasks.get(name);
    if (!task) throw notFound(`Task '${name}' is not configured.`, 'task_not_found', 'task');
    return task;
  };
  // Another tenant's job is answered like a missing one, for reading and for cancelling.
  const visibleJob = async (id: string, tenant: string) => {
    const job = await deps.jobs.get(id);
    if (!job || !canSee(tenant, job)) throw notFound(`Job '${id}' does not exist.`, 'job_not_found', 'id');
    return job;
  };
  return { requireTask, visibleJob };
}

type Lookups = ReturnType<typeof lookups>;

export function createAdminRoutes(deps: AdminRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const find = lookups(deps);
  // Registered in this order on one app, so the routes match as they always have.
  addTaskRoutes(app, deps, find);
  addJobRoutes(app, deps, find);
  addDatasetRoute(app, deps);
  addModelRoutes(app, deps, find);
  return app;
}

/** The configured tasks, and a manual distillation trigger. */
function addTaskRoutes(app: Hono<AppEnv>, deps: AdminRouteDeps, { requireTask }: Lookups): void {
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
    // The active job may be another tenant's: say the task is busy without showing it.
    if (!result.created && !canSee(c.get('tenant'), result.job)) {
      throw new DistilleryError(`Task '${task}' already has an active job; the trigger was recorded.`, { status: 409, type: 'conflict_error', code: 'job_active', param: 'task' });
    }
    return c.json({ created: result.created, job: jobView(result.job) }, result.created ? 201 : 200);
  });
}

/** Listing, reading and cancelling jobs. */
function addJobRoutes(app: Hono<AppEnv>, deps: AdminRouteDeps, { requireTask, visibleJob }: Lookups): void {
  app.get('/jobs', async (c) => {
    const q = listJobsQuery.parse(c.req.query());
    // An unknown task is a 404, as for its models, not an empty list.
    if (q.task) requireTask(q.task);
    const tenant = c.get('tenant');
    const data = [];
    const query = { ...(q.task ? { task: q.task } : {}), ...(q.state ? { states: [q.state as JobState] } : {}), ...(isOperator(tenant) ? {} : { tenant }) };
    for await (const job of deps.jobs.list(query)) {
      if (!canSee(tenant, job)) continue;
      data.push(jobView(job));
      if (data.length >= q.limit) break;
    }
    return c.json({ object: 'list', data });
  });

  const now = deps.now ?? Date.now;

  app.get('/jobs/:id', async (c) => c.json(jobDetailView(await visibleJob(c.req.param('id'), c.get('tenant')), now())));

  app.post('/jobs/:id/cancel', async (c) => {
    const job = await visibleJob(c.req.param('id'), c.get('tenant'));
    if (!deps.cancelJob) throw new DistilleryError('Cancelling jobs is not available in this deployment.', { status: 501, type: 'server_error', code: 'not_implemented' });
    const record = await deps.cancelJob(job, `${c.get('principal').keyId} (tenant ${c.get('tenant')})`);
    // 202: the worker ends the job; the state says `cancelled` once it has.
    return c.json(jobDetailView(record, now()), record.state === 'cancelled' ? 200 : 202);
  });
}

// The versioned dataset a job built: manifest, examples and (generative tasks) fine-tuning files;
// with ?format= the examples of a split (train, validation, test; examples.jsonl: all) as the JSONL
// a fine-tuning tool reads (dataset-export.ts). A dataset holding pairs of any tenant but the job's
// own is the operator's only.
const datasetFiles = ['manifest.json', 'examples.jsonl', 'train.jsonl', 'validation.jsonl', 'validation-report.json'] as const;
const exportFiles: Record<string, Split | undefined> = { 'examples.jsonl': undefined, 'train.jsonl': 'train', 'validation.jsonl': 'validation', 'test.jsonl': 'test' };

function addDatasetRoute(app: Hono<AppEnv>, deps: AdminRouteDeps): void {
  app.get('/jobs/:id/dataset/:file', async (c) => {
    const job = await deps.jobs.get(c.req.param('id'));
    if (!job || !canSee(c.get('tenant'), job)) throw notFound(`Job '${c.req.param('id')}' does not exist.`, 'job_not_found');
    const file = c.req.param('file');
    const format = c.req.query('format');
    if (format !== undefined && !(EXPORT_FORMATS as readonly string[]).includes(format)) throw invalidRequest(`format must be one of ${EXPORT_FORMATS.join(', ')}.`, 'format');
    const names = format ? Object.keys(exportFiles) : datasetFiles;
    if (!(names as readonly string[]).includes(file)) throw invalidRequest(`file must be one of ${names.join(', ')}${format ? ` with format=${format}` : ''}.`, 'file');
    const base = datasetPathOf(job);
    const readable = canDownloadDataset(c.get('tenant'), job);
    const bytes = readable ? await deps.artifacts.get(`${base}/${format ? 'examples.jsonl' : file}`) : undefined;
    if (!bytes) throw await missingDatasetFile(deps, job, base, readable, format ? 'examples.jsonl' : file);
    if (!format) return c.body(new Uint8Array(bytes), 200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/jsonl' });
    const examples = new TextDecoder().decode(bytes).split('\n').filter(Boolean).map((l) => JSON.parse(l) as DatasetExample);
    return c.body(exportDataset(examples, format as ExportFormat, exportFiles[file]), 200, {
      'content-type': 'application/jsonl',
      'content-disposition': `attachment; filename="${job.id}-${file.replace('.jsonl', '')}-${format}.jsonl"`,
    });
  });
}

/** A 404 that says which files the dataset has (a label task never writes train.jsonl), or that it has none yet. */
async function missingDatasetFile(deps: AdminRouteDeps, job: JobRecord, base: string, readable: boolean, file: string) {
  const present: string[] = [];
  if (readable) for await (const p of deps.artifacts.list(`${base}/`)) present.push(p.split('/').pop()!);
  const has = datasetFiles.filter((f) => present.includes(f));
  if (!has.length) return notFound(`Job '${job.id}' has no dataset readable with this API key (yet).`, 'dataset_file_not_found');
  const hint = file === 'train.jsonl' || file === 'validation.jsonl' ? '; fine-tuning files of any task: add ?format=openai|azure-ml|messages (CLI: --format)' : '';
  return notFound(`Job '${job.id}' has no ${file}; its dataset has ${has.join(', ')}${hint}.`, 'dataset_file_not_found');
}

// Models are shared by every tenant of a task: only the operator may change which one serves.
const requireOperator = (tenant: string) => {
  if (!isOperator(tenant)) throw forbidden('Registering, promoting or rolling back a task model needs an operator (tenant "*") admin key.');
};

/** A task's student versions: list, register an endpoint, promote one, roll back. */
function addModelRoutes(app: Hono<AppEnv>, deps: AdminRouteDeps, { requireTask }: Lookups): void {
  app.get('/tasks/:task/models', async (c) => {
    const task = requireTask(c.req.param('task')).config.name;
    const data = [];
    for await (const v of deps.registry.list(task)) data.push(modelView(v));
    return c.json({ object: 'list', data });
  });

  // An OpenAI-compatible endpoint (a local runtime) as a new version, promoted at once if asked.
  app.post('/tasks/:task/models', async (c) => {
    requireOperator(c.get('tenant'));
    const task = requireTask(c.req.param('task')).config.name;
    const body = parseRegisterModelBody(await readJsonBody(c.req.raw, 64 * 1024));
    await checkRegistration(body, deps.probeEndpoint, c.req.raw.signal);
    let version = await deps.registry.create(registeredVersion(task, body, c.get('principal').keyId));
    if (body.promote) {
      version = await deps.registry.promote(task, version.version);
      deps.onModelChange?.(task);
    }
    return c.json(modelView(version), 201);
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
}
