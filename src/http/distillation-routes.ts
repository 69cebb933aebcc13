import { Hono } from 'hono';
import { isAzureMLSpec, mapAzureMLSpec } from '../core/distill/azure-ml-spec.js';
import type { DatasetJobs } from '../core/distill/dataset-jobs.js';
import type { DistillTriggers } from '../core/distill/distill-triggers.js';
import { uploadPrefixOf } from '../core/distill/tenant-scope.js';
import { DistilleryError, notFound } from '../core/errors.js';
import type { JobRecord, JobStore } from '../core/ports.js';
import { canSee, jobView } from './admin-routes.js';
import type { AppEnv } from './create-app.js';
import { readJsonBody } from './read-json-body.js';

// Distillation jobs from a dataset (admin scope): POST a job spec (validated, inline JSONL moved
// to the artifact store), then follow it by id: state, progress, stage-1 figures and, when it
// ends, the report comparing student, teacher and the un-distilled baseline.

export interface DistillationRouteDeps {
  jobs: JobStore;
  datasetJobs: Pick<DatasetJobs, 'prepare'>;
  triggers: Pick<DistillTriggers, 'request'>;
  /** Specs carry inline datasets: a larger limit than chat requests (default 64 MiB). */
  maxBodyBytes?: number;
}

/** What a client follows: the job with its stage-1 summary and report lifted to the top. */
export function distillationView(job: JobRecord) {
  const steps = job.steps as { generation?: unknown; report?: unknown; gate?: unknown };
  return {
    ...jobView(job),
    object: 'distillation.job',
    status: job.state,
    stage1: steps.generation ?? null,
    report: steps.report ?? null,
    gate: steps.gate ?? null,
  };
}

export function createDistillationRoutes(deps: DistillationRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    let body = await readJsonBody(c.req.raw, deps.maxBodyBytes ?? 64 * 1024 * 1024);
    // An azure-ai-ml DistillationJob (YAML as JSON) is accepted as it is: mapped, or a 400 naming the field.
    const azure = isAzureMLSpec(body) ? mapAzureMLSpec(body, { uploadPrefix: uploadPrefixOf(c.get('tenant')) }) : undefined;
    if (azure) body = azure.spec;
    // Paths in the spec resolve inside the caller's tenant namespace (tenant-scope.ts).
    const prepared = await deps.datasetJobs.prepare(body, { abortSignal: c.req.raw.signal, tenant: c.get('tenant') });
    if (azure?.notUsed.length) prepared.detail += `; Azure ML fields not used: ${azure.notUsed.join(', ')}`;
    const result = await deps.triggers.request(
      prepared.task,
      { type: 'spec', detail: `${prepared.detail} (admin API ${c.get('principal').keyId})` },
      { kind: 'dataset', spec: prepared.spec, tenant: c.get('tenant') },
    );
    if (!result.created) {
      // Another tenant's active job is not named: its id would confirm it exists.
      const which = canSee(c.get('tenant'), result.job) ? ` (${result.job.id})` : '';
      throw new DistilleryError(`Task '${prepared.task}' already has an active job${which}; submit again when it ends.`, {
        status: 409,
        type: 'conflict_error',
        code: 'job_active',
        param: 'task',
      });
    }
    return c.json(distillationView(result.job), 201);
  });

  app.get('/', async (c) => {
    const tenant = c.get('tenant');
    const data = [];
    for await (const job of deps.jobs.list()) {
      if (job.kind !== 'dataset' || !canSee(tenant, job)) continue;
      data.push(distillationView(job));
      if (data.length >= 100) break;
    }
    return c.json({ object: 'list', data });
  });

  app.get('/:id', async (c) => {
    const job = await deps.jobs.get(c.req.param('id'));
    if (!job || job.kind !== 'dataset' || !canSee(c.get('tenant'), job)) throw notFound(`Distillation job '${c.req.param('id')}' does not exist.`, 'job_not_found');
    return c.json(distillationView(job));
  });

  return app;
}
