import { DistilleryError } from '../errors.js';
import { hash53 } from '../hash.js';
import type { OperationOptions } from '../ports.js';
import type { DatasetJobsDeps } from './dataset-job-deps.js';
import { checkAzureMLRows } from './azure-ml-spec.js';
import { parseDatasetRows, parseDistillationSpec, taskNameOf, type DataSource, type DatasetRow, type DistillationSpec } from './distillation-spec.js';
import { preflightStudent, preflightTeacher } from './job-preflight.js';
import { taskConfigFromSpec } from './spec-to-task.js';
import { readTenantArtifact, uploadPrefixOf } from './tenant-scope.js';

// Submitting a distillation job spec: the spec and every row are validated up front (400 naming
// the field), and inline JSONL moves to the artifact store so the job record holds paths only.

export interface PreparedDatasetJob {
  task: string;
  spec: DistillationSpec;
  detail: string;
}

/** Validates a spec and its rows and stores inline data; the caller queues the job. */
export async function prepareDatasetJob(deps: Pick<DatasetJobsDeps, 'artifacts' | 'tasks' | 'preflight'>, input: unknown, options: OperationOptions & { tenant: string }): Promise<PreparedDatasetJob> {
  const spec = parseDistillationSpec(input);
  const seen = { ids: new Set<string>(), prompts: new Set<string>() };
  const stored: DistillationSpec = { ...spec };
  let rows = 0;
  const samples: DatasetRow[] = [];
  const azureML = spec.student.kind === 'remote' && spec.student.trainer === 'azure-ml';
  const allRows: DatasetRow[] = [];
  for (const key of ['training_data', 'validation_data'] as const) {
    const source = spec[key];
    if (!source) continue;
    const jsonl = await readSource(deps, source, key, options);
    const parsed = parseDatasetRows(jsonl, key === 'training_data' ? 'train' : 'validation', spec.task_type, seen);
    if (key === 'training_data' && parsed.rows.length === 0) {
      throw new DistilleryError('training_data holds no rows.', { status: 400, type: 'invalid_request_error', code: 'invalid_dataset_row', param: key });
    }
    rows += parsed.rows.length;
    if (samples.length < 3) samples.push(...parsed.rows.slice(0, 3 - samples.length));
    if (azureML) allRows.push(...parsed.rows);
    if ('jsonl' in source) {
      // Inside the submitter's namespace, so its jobs (and its later specs) can read it back.
      const path = `${uploadPrefixOf(options.tenant)}${hash53(source.jsonl)}-${source.jsonl.length}.jsonl`;
      await deps.artifacts.upsert(path, source.jsonl, { ...options, contentType: 'application/jsonl' });
      stored[key] = { path };
    }
  }
  // Azure ML's own data rules, checked before anything is queued (its job would fail on them hours later).
  if (azureML) checkAzureMLRows(allRows);
  const task = taskNameOf(spec);
  // Before anything is queued (and before stage 1 pays the teacher for every row).
  if (deps.preflight && samples.length > 0) {
    await preflightStudent(deps.preflight, taskConfigFromSpec(spec, deps.tasks.get(task)?.config), options);
    const teacher = await preflightTeacher(deps.preflight, spec, samples, options);
    // A teacher without logprobs: stage 1 asks for hard labels only (and the record says so).
    if (teacher.softLabels === false) stored.teacher_settings = { ...spec.teacher_settings, soft_labels: false };
  }
  return { task, spec: stored, detail: `${spec.task_type} dataset of ${rows} rows, teacher ${spec.teacher}` };
}

/**
 * The JSONL of a data source (inline, or an artifact path inside the tenant's namespace, see
 * tenant-scope.ts); 404 alike when the artifact is missing and when it is another tenant's.
 */
export async function readSource(deps: Pick<DatasetJobsDeps, 'artifacts'>, source: DataSource, param: string, options: OperationOptions & { tenant: string }): Promise<string> {
  if ('jsonl' in source) return source.jsonl;
  return new TextDecoder().decode(await readTenantArtifact(deps.artifacts, options.tenant, source.path, param, options));
}
