import { ConcurrencyError, DistilleryError } from '../errors.js';
import type { JobRecord, OperationOptions } from '../ports.js';
import { readJson, type DatasetJobsDeps } from './dataset-job-deps.js';
import { readSource } from './dataset-job-submission.js';
import { labelsOf, parseDatasetRows, type DatasetRow, type DistillationSpec } from './distillation-spec.js';
import { generateLabelRows } from './teacher-data-generation.js';
import { JobFailure } from './job-failure.js';
import type { JobSteps, Stage1Pending, Stage1Summary } from './job-steps.js';
import { specOf } from './spec-to-task.js';
import { STAGE1_CHUNK_KIND, stage1PathOf, summarizeStage1, type ChunkResult, type Plan } from './stage1-results.js';
import { jobTenantOf } from './tenant-scope.js';

// Stage 1 of a dataset job, the job's `generating` step: the rows are split into chunk files in
// the artifact store (files first, plan last: a plan means every chunk file exists) and one
// `stage1-chunk` message goes out per chunk without a result (message id `${job}:chunk:${i}`, so
// the broker drops duplicates). The step reports `pending` until every chunk has a result; the
// chunk worker that writes the last one re-enters the job. Then the success ratio decides.

/** Chunks with a result marker, by listing only (a chunk's completion must not read every other result). */
export async function chunksDone(deps: Pick<DatasetJobsDeps, 'artifacts'>, jobId: string, options: OperationOptions = {}): Promise<number> {
  let n = 0;
  for await (const p of deps.artifacts.list(`${stage1PathOf(jobId)}/results/`, options)) if (p.endsWith('.json')) n++;
  return n;
}

export async function chunkResults(deps: Pick<DatasetJobsDeps, 'artifacts'>, jobId: string, options: OperationOptions = {}): Promise<Map<number, ChunkResult>> {
  const out = new Map<number, ChunkResult>();
  const paths: string[] = [];
  for await (const p of deps.artifacts.list(`${stage1PathOf(jobId)}/results/`, options)) paths.push(p);
  await Promise.all(
    paths.map(async (p) => {
      const r = await readJson<ChunkResult>(deps, p, options);
      if (r) out.set(r.index, r);
    }),
  );
  return out;
}

async function planChunks(deps: DatasetJobsDeps, job: JobRecord, spec: DistillationSpec, options: OperationOptions): Promise<Plan> {
  const base = stage1PathOf(job.id);
  const seen = { ids: new Set<string>(), prompts: new Set<string>() };
  const rows: DatasetRow[] = [];
  let duplicates = 0;
  for (const key of ['training_data', 'validation_data'] as const) {
    const source = spec[key];
    if (!source) continue;
    let parsed;
    try {
      parsed = parseDatasetRows(await readSource(deps, source, key, { ...options, tenant: jobTenantOf(job) }), key === 'training_data' ? 'train' : 'validation', spec.task_type, seen);
    } catch (err) {
      if (err instanceof DistilleryError && (err.status === 400 || err.status === 404)) throw new JobFailure(err.message, err.code);
      throw err;
    }
    rows.push(...parsed.rows);
    duplicates += parsed.duplicates;
  }
  if (spec.data_generation) rows.push(...(await generatedRows(deps, job, spec, rows, options)));
  const chunks = Math.ceil(rows.length / spec.chunk_size);
  for (let i = 0; i < chunks; i++) {
    const chunk = JSON.stringify({ index: i, rows: rows.slice(i * spec.chunk_size, (i + 1) * spec.chunk_size) });
    await deps.artifacts.upsert(`${base}/chunks/${i}.json`, chunk, { ...options, contentType: 'application/json' });
  }
  const plan: Plan = {
    chunks,
    examples: rows.length,
    train: rows.filter((r) => r.split === 'train').length,
    validation: rows.filter((r) => r.split === 'validation').length,
    duplicates,
    chunkSize: spec.chunk_size,
  };
  await deps.artifacts.upsert(`${base}/plan.json`, JSON.stringify(plan), { ...options, contentType: 'application/json' });
  return plan;
}

/** Teacher-written rows for sparse labels; the report is kept beside the plan. */
async function generatedRows(deps: DatasetJobsDeps, job: JobRecord, spec: DistillationSpec, rows: DatasetRow[], options: OperationOptions): Promise<DatasetRow[]> {
  const teacher = (deps.stage1Model ?? deps.model)(spec.teacher);
  const generated = await generateLabelRows(teacher, labelsOf(spec) ?? [], rows, spec.data_generation!, options);
  await deps.artifacts.upsert(`${stage1PathOf(job.id)}/generated.json`, JSON.stringify(generated.report), { ...options, contentType: 'application/json' });
  deps.log?.(`job ${job.id}: data generation for ${generated.report.labels.length} labels: ${JSON.stringify(generated.report)}`);
  return generated.rows;
}

/** Plans once, sends a message for every chunk without a result; `pending` until all have one. */
export async function fanOutStage1(deps: DatasetJobsDeps, job: JobRecord, abortSignal?: AbortSignal): Promise<Stage1Pending | Stage1Summary> {
  const options = abortSignal ? { abortSignal } : {};
  const spec = specOf(job);
  const plan = (await readJson<Plan>(deps, `${stage1PathOf(job.id)}/plan.json`, options)) ?? (await planChunks(deps, job, spec, options));
  const results = await chunkResults(deps, job.id, options);
  if (results.size < plan.chunks) {
    for (let i = 0; i < plan.chunks; i++) {
      if (results.has(i)) continue;
      await deps.queue.send({ messageId: `${job.id}:chunk:${i}`, body: { jobId: job.id, task: job.task, kind: STAGE1_CHUNK_KIND, chunk: i } }, options);
    }
    return { pending: true, chunks: plan.chunks, chunksDone: results.size, examples: plan.examples };
  }
  const summary = summarizeStage1(plan, [...results.values()], spec);
  if (summary.successRatio < spec.min_success_ratio) {
    const causes = Object.entries(summary.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    const message =
      `Stage 1 failed: the teacher answered ${summary.ok} of ${summary.examples} examples usably ` +
      `(success ratio ${summary.successRatio.toFixed(3)} < min_success_ratio ${spec.min_success_ratio}); failures by cause: ${causes}.`;
    // The report stays on the job next to the error, for GET /admin/distillations/{id}.
    await saveStage1Steps(deps, job.id, job.task, { generation: summary });
    throw new JobFailure(message, 'teacher_success_ratio_too_low');
  }
  return summary;
}

/**
 * Writes stage-1 figures onto a job in `generating` (chunk workers' progress while no worker runs
 * the job; the figures of a failed stage 1). Its owner, if any, re-applies its own writes on top.
 */
export async function saveStage1Steps(deps: Pick<DatasetJobsDeps, 'jobs' | 'clock'>, jobId: string, task: string, steps: JobSteps, progress?: (current: JobRecord) => number | undefined): Promise<void> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const current = await deps.jobs.get(jobId, { task });
    if (!current || current.state !== 'generating') return;
    const p = progress?.(current);
    try {
      await deps.jobs.update({
        ...current,
        steps: { ...current.steps, ...steps },
        ...(p !== undefined ? { progress: Math.max(current.progress, p) } : {}),
        updatedAt: new Date(deps.clock.now()).toISOString(),
      });
      return;
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }
}
