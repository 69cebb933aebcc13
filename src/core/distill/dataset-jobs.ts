import type { ChatModelRequest, ChatModelResult, Usage } from '../chat/chat-model-types.js';
import type { ChatMessage } from '../chat/chat-request-schema.js';
import { ConcurrencyError, DistilleryError, isAbortError, summarizeError, UpstreamError } from '../errors.js';
import { summarizeLatencies } from '../eval/latency-summary.js';
import { judgePairs, summarizeJudgements } from '../eval/pairwise-judge.js';
import { lastUserText } from '../chat/chat-request-schema.js';
import { hash53 } from '../hash.js';
import type { PairRecord } from '../pairs/pair-record.js';
import type { ArtifactStore, ChatModel, Clock, JobQueue, JobRecord, JobStore, ModelVersion, OperationOptions, PairStore } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import { createLabelParser } from '../tasks/classification-task.js';
import { taskSchema, type TaskConfig } from '../tasks/task-schema.js';
import { splitOf, type Dataset, type DatasetExample, type Split } from './dataset-builder.js';
import {
  labelsOf,
  parseDatasetRows,
  parseDistillationSpec,
  taskNameOf,
  type DatasetRow,
  type DataSource,
  type DistillationSpec,
} from './distillation-spec.js';
import type { CandidateEvaluation } from './evaluate-candidate.js';
import type { JobMessageBody } from './job-messages.js';
import { JobFailure, type StepContext } from './job-runner.js';
import { extractAnswer, isLabelTask, isUsableAnswer, meanScores, scoreAnswer, taskTypeSettings, type TaskType } from './task-types.js';

// Distillation jobs from a dataset. Stage 1 (the teacher answers every example) is fanned out
// through the jobs queue: the job's `generating` step splits the rows into chunk files in the
// artifact store and sends one `stage1-chunk` message per chunk (message id `${job}:chunk:${i}`,
// so the broker drops duplicates); any worker takes a chunk, calls the teacher with bounded
// concurrency, writes one pair record per example with id `${job}:${example}` (so a chunk that
// runs twice — a redelivery, a worker killed mid-way — never duplicates a pair and skips the
// examples already answered) and then a result marker. The worker that writes the last marker
// sends a `dataset` message that re-enters the job; no worker sits waiting for the others.
// Then the success ratio decides: under `min_success_ratio` the job fails with a report,
// otherwise stage 2 (dataset → training → evaluation) runs on the successful answers.

export const STAGE1_CHUNK_KIND = 'stage1-chunk';

export interface DatasetJobsDeps {
  jobs: JobStore;
  pairs: PairStore;
  artifacts: ArtifactStore;
  queue: JobQueue;
  clock: Clock;
  /** Configured tasks; a spec naming one distills into it. */
  tasks: { get(name: string): TaskRuntime | undefined };
  /** A configured model by id (the teacher, or a remote student's base model for the baseline). */
  model(id: string): ChatModel;
  /** USD for one call of a model (by the id it answered as, or ours), undefined when it has no price. */
  price?(modelId: string, hosting: ChatModel['hosting'], usage: Usage, latencyInMs: number): number | undefined;
  /**
   * Deliveries of a queue message before it is dead-lettered: on the last one a chunk that still
   * fails is recorded as failed instead, so the job reaches its success-ratio check and never
   * waits forever for a chunk in the dead-letter queue.
   */
  maxDeliveries?: number;
  /** Waits (retries, retry-after); tests may shorten it. */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
  log?(message: string): void;
}

export interface ChunkResult {
  index: number;
  examples: number;
  ok: number;
  failed: number;
  /** Answered in an earlier (interrupted) run of the chunk: not asked again. */
  reused: number;
  calls: number;
  retries: number;
  throttled: number;
  /** Failures by error code (after retries). */
  errors: Record<string, number>;
  usage: Usage;
  costUsd: number;
  latenciesInMs: number[];
  durationInMs: number;
  /** Why a chunk given up on its last delivery failed. */
  lastError?: { status: number; code: string; message: string };
}

interface Plan {
  chunks: number;
  examples: number;
  train: number;
  validation: number;
  duplicates: number;
  chunkSize: number;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export const stage1PathOf = (jobId: string) => `distillations/${jobId}`;

/** Seconds of a retry-after header value (delta-seconds or HTTP date), as milliseconds. */
export function parseRetryAfter(value: string | null | undefined, nowInMs: number): number | undefined {
  if (value == null || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowInMs);
}

/** How long an upstream asked us to wait: the error's own hint, or the retry-after header of its cause. */
export function retryAfterOf(err: unknown, nowInMs: number): number | undefined {
  if (err instanceof DistilleryError && err.retryAfterInSeconds !== undefined) return err.retryAfterInSeconds * 1000;
  // The SDK's error carries the response headers (a Headers object or a plain record).
  const headers = (err as { cause?: { headers?: unknown } } | undefined)?.cause?.headers;
  if (!headers || typeof headers !== 'object') return undefined;
  const get = (name: string): string | undefined => {
    const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>;
    if (typeof h.get === 'function') return h.get(name) ?? undefined;
    const v = h[name];
    return typeof v === 'string' ? v : undefined;
  };
  const ms = Number(get('retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && get('retry-after-ms') !== undefined) return ms;
  return parseRetryAfter(get('retry-after'), nowInMs);
}

const statusOf = (err: unknown) => (err instanceof UpstreamError ? err.upstreamStatus : err instanceof DistilleryError ? err.status : undefined);

/** The task a dataset job trains: the configured one with the spec laid over it, or one made from the spec. */
export function taskConfigFromSpec(spec: DistillationSpec, configured?: TaskConfig): TaskConfig {
  const name = taskNameOf(spec);
  const labels = labelsOf(spec);
  const hp = spec.hyperparameters;
  const base = configured ?? taskSchema.parse({ name, teacher: spec.teacher, description: spec.description || `dataset distillation (${spec.task_type})` });
  const onnx = spec.student.kind === 'onnx-classifier';
  const classification = labels
    ? {
        labels,
        labelFormat: base.classification?.labelFormat ?? { type: 'label' as const },
        student: {
          ...base.classification?.student,
          ...(hp.learning_rate !== undefined ? { learning_rate: hp.learning_rate } : {}),
          ...(hp.batch_size !== undefined ? { batch_size: hp.batch_size } : {}),
          ...(hp.num_epochs !== undefined ? { epochs: hp.num_epochs } : {}),
          ...(hp.temperature !== undefined ? { temperature: hp.temperature } : {}),
        },
      }
    : base.classification;
  return taskSchema.parse({
    ...base,
    teacher: spec.teacher,
    student: base.student ?? { source: 'registry' },
    ...(classification ? { classification } : {}),
    distill: {
      ...base.distill,
      trainer: onnx ? 'local-onnx' : 'azure-openai',
      // Runtime tasks are distilled from their dataset only: no traffic threshold starts a job.
      ...(configured ? {} : { enabled: false, threshold: null }),
      // The spec's task type picks the gate's metric and default bar (math: exact match, summaries: ROUGE-L...).
      gate: { ...base.distill.gate, ...spec.gate, taskType: spec.task_type },
      fineTuning: {
        ...base.distill.fineTuning,
        ...(spec.student.kind === 'remote' ? { baseModel: spec.student.baseModel, ...(spec.student.modelRef ? { modelRef: spec.student.modelRef } : {}) } : {}),
        ...(hp.num_epochs !== undefined ? { n_epochs: Math.min(50, hp.num_epochs) } : {}),
        ...(hp.batch_size !== undefined ? { batch_size: Math.min(256, hp.batch_size) } : {}),
      },
    },
  });
}

/**
 * Dataset jobs put the spec's splits first: validation rows become the held-out test split the
 * gate and the report use; training rows split into train and validation (early stopping) by the
 * usual prompt hash. Without validation rows the builder's hash split stands.
 */
export function applySourceSplits(dataset: Dataset, splits: ReadonlyMap<string, 'train' | 'validation'>, validationShare: number): Dataset {
  if (![...splits.values()].includes('validation')) return dataset;
  const examples = dataset.examples.map((e): DatasetExample => {
    const source = splits.get(e.id);
    const split: Split = source === 'validation' ? 'test' : splitOf(e.promptHash, validationShare, 0);
    return { ...e, split };
  });
  const counts = { ...dataset.manifest.counts, train: 0, validation: 0, test: 0 };
  const classBalance: Record<string, Record<Split, number>> | undefined = dataset.manifest.classBalance ? {} : undefined;
  for (const e of examples) {
    counts[e.split]++;
    if (classBalance && e.label) (classBalance[e.label] ??= { train: 0, validation: 0, test: 0 })[e.split]++;
  }
  return {
    examples,
    manifest: {
      ...dataset.manifest,
      counts,
      ...(classBalance ? { classBalance } : {}),
      splitRule: `spec validation_data → test; training_data: hash53(normalized prompt) < ${validationShare} → validation, else train`,
    },
  };
}

export class DatasetJobs {
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly deps: DatasetJobsDeps) {
    this.sleep = deps.sleep ?? defaultSleep;
  }

  // --- submission ---------------------------------------------------------------------------

  /**
   * Validates a spec and its rows (400 on any bad row) and stores inline data in the artifact
   * store, so the job record holds paths, not megabytes. Returns what `DistillTriggers.request`
   * needs; the caller queues the job.
   */
  async prepare(input: unknown, options: OperationOptions = {}): Promise<{ task: string; spec: DistillationSpec; detail: string }> {
    const spec = parseDistillationSpec(input);
    const seen = { ids: new Set<string>(), prompts: new Set<string>() };
    const stored: DistillationSpec = { ...spec };
    let rows = 0;
    for (const key of ['training_data', 'validation_data'] as const) {
      const source = spec[key];
      if (!source) continue;
      const jsonl = await this.readSource(source, key, options);
      const parsed = parseDatasetRows(jsonl, key === 'training_data' ? 'train' : 'validation', spec.task_type, seen);
      if (key === 'training_data' && parsed.rows.length === 0) throw new DistilleryError('training_data holds no rows.', { status: 400, type: 'invalid_request_error', code: 'invalid_dataset_row', param: key });
      rows += parsed.rows.length;
      if ('jsonl' in source) {
        const path = `distillations/uploads/${hash53(source.jsonl)}-${source.jsonl.length}.jsonl`;
        await this.deps.artifacts.upsert(path, source.jsonl, { ...options, contentType: 'application/jsonl' });
        stored[key] = { path };
      }
    }
    const task = taskNameOf(spec);
    return { task, spec: stored, detail: `${spec.task_type} dataset of ${rows} rows, teacher ${spec.teacher}` };
  }

  private async readSource(source: DataSource, param: string, options: OperationOptions = {}): Promise<string> {
    if ('jsonl' in source) return source.jsonl;
    const bytes = await this.deps.artifacts.get(source.path, options);
    if (!bytes) throw new DistilleryError(`${param}: artifact '${source.path}' does not exist.`, { status: 400, type: 'invalid_request_error', code: 'dataset_not_found', param });
    return text(bytes);
  }

  specOf(job: JobRecord): DistillationSpec {
    try {
      return parseDistillationSpec(job.spec);
    } catch (err) {
      throw new JobFailure(`Job '${job.id}' has no valid distillation spec: ${(err as Error).message}`, 'invalid_distillation_spec');
    }
  }

  /** The runner's task for a dataset job (undefined for other jobs). */
  taskOf(job: JobRecord): TaskRuntime | undefined {
    if (job.kind !== 'dataset' || job.spec === undefined) return undefined;
    const spec = this.specOf(job);
    const config = taskConfigFromSpec(spec, this.deps.tasks.get(job.task)?.config);
    return config.classification ? { config, parseLabel: createLabelParser(config.classification) } : { config };
  }

  // --- stage 1: the runner's `generate` step --------------------------------------------------

  private async readJson<T>(path: string, options: OperationOptions = {}): Promise<T | undefined> {
    const bytes = await this.deps.artifacts.get(path, options);
    return bytes ? (JSON.parse(text(bytes)) as T) : undefined;
  }

  /** Chunks with a result marker, by listing only (a chunk's completion must not read every other result). */
  private async chunksDone(jobId: string, options: OperationOptions = {}): Promise<number> {
    let n = 0;
    for await (const p of this.deps.artifacts.list(`${stage1PathOf(jobId)}/results/`, options)) if (p.endsWith('.json')) n++;
    return n;
  }

  private async chunkResults(jobId: string, options: OperationOptions = {}): Promise<Map<number, ChunkResult>> {
    const out = new Map<number, ChunkResult>();
    const prefix = `${stage1PathOf(jobId)}/results/`;
    const paths: string[] = [];
    for await (const p of this.deps.artifacts.list(prefix, options)) paths.push(p);
    await Promise.all(
      paths.map(async (p) => {
        const r = await this.readJson<ChunkResult>(p, options);
        if (r) out.set(r.index, r);
      }),
    );
    return out;
  }

  /**
   * Plans the chunks once (files first, plan last: a plan means every chunk file exists), sends a
   * message for every chunk without a result, and reports `pending` until all have one; then
   * checks the success ratio.
   */
  async generate(job: JobRecord, context: StepContext): Promise<Record<string, unknown>> {
    const options = context.abortSignal ? { abortSignal: context.abortSignal } : {};
    const spec = this.specOf(job);
    const base = stage1PathOf(job.id);
    let plan = await this.readJson<Plan>(`${base}/plan.json`, options);
    if (!plan) {
      const seen = { ids: new Set<string>(), prompts: new Set<string>() };
      const rows: DatasetRow[] = [];
      let duplicates = 0;
      for (const key of ['training_data', 'validation_data'] as const) {
        const source = spec[key];
        if (!source) continue;
        let parsed;
        try {
          parsed = parseDatasetRows(await this.readSource(source, key, options), key === 'training_data' ? 'train' : 'validation', spec.task_type, seen);
        } catch (err) {
          if (err instanceof DistilleryError && err.status === 400) throw new JobFailure(err.message, err.code);
          throw err;
        }
        rows.push(...parsed.rows);
        duplicates += parsed.duplicates;
      }
      const chunks = Math.ceil(rows.length / spec.chunk_size);
      for (let i = 0; i < chunks; i++) {
        await this.deps.artifacts.upsert(`${base}/chunks/${i}.json`, JSON.stringify({ index: i, rows: rows.slice(i * spec.chunk_size, (i + 1) * spec.chunk_size) }), {
          ...options,
          contentType: 'application/json',
        });
      }
      plan = {
        chunks,
        examples: rows.length,
        train: rows.filter((r) => r.split === 'train').length,
        validation: rows.filter((r) => r.split === 'validation').length,
        duplicates,
        chunkSize: spec.chunk_size,
      };
      await this.deps.artifacts.upsert(`${base}/plan.json`, JSON.stringify(plan), { ...options, contentType: 'application/json' });
    }
    const results = await this.chunkResults(job.id, options);
    if (results.size < plan.chunks) {
      for (let i = 0; i < plan.chunks; i++) {
        if (results.has(i)) continue;
        await this.deps.queue.send({ messageId: `${job.id}:chunk:${i}`, body: { jobId: job.id, task: job.task, kind: STAGE1_CHUNK_KIND, chunk: i } }, options);
      }
      return { pending: true, chunks: plan.chunks, chunksDone: results.size, examples: plan.examples };
    }
    const summary = summarizeStage1(plan, [...results.values()], spec);
    if (summary.successRatio < spec.min_success_ratio) {
      const message =
        `Stage 1 failed: the teacher answered ${summary.ok} of ${summary.examples} examples usably ` +
        `(success ratio ${summary.successRatio.toFixed(3)} < min_success_ratio ${spec.min_success_ratio}); ` +
        `failures by cause: ${Object.entries(summary.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}.`;
      // The report stays on the job next to the error, for GET /admin/distillations/{id}.
      await this.saveSteps(job.id, job.task, { generation: summary });
      throw new JobFailure(message, 'teacher_success_ratio_too_low');
    }
    return summary;
  }

  private async saveSteps(jobId: string, task: string, steps: Record<string, unknown>, progress?: (current: JobRecord) => number | undefined) {
    for (let attempt = 0; attempt < 8; attempt++) {
      const current = await this.deps.jobs.get(jobId, { task });
      if (!current || current.state !== 'generating') return;
      const p = progress?.(current);
      try {
        await this.deps.jobs.update({
          ...current,
          steps: { ...current.steps, ...steps },
          ...(p !== undefined ? { progress: Math.max(current.progress, p) } : {}),
          updatedAt: new Date(this.deps.clock.now()).toISOString(),
        });
        return;
      } catch (err) {
        if (!(err instanceof ConcurrencyError)) throw err;
      }
    }
  }

  // --- stage 1: one chunk -------------------------------------------------------------------------

  /** The `stage1-chunk` message handler. Throws only for what a redelivery can cure (store down, abort). */
  readonly handleChunk = async (body: JobMessageBody, options: OperationOptions & { deliveryCount: number }): Promise<void> => {
    const index = Number(body.chunk);
    if (!Number.isInteger(index) || index < 0) throw new JobFailure(`Chunk message of '${body.jobId}' has no valid chunk index.`, 'invalid_chunk_message');
    const job = await this.deps.jobs.get(body.jobId, { task: body.task });
    if (!job || job.kind !== 'dataset' || job.state !== 'generating') return; // gone, failed or already past stage 1
    const base = stage1PathOf(job.id);
    const io = options.abortSignal ? { abortSignal: options.abortSignal } : {};
    if (!(await this.deps.artifacts.get(`${base}/results/${index}.json`, io))) {
      const chunk = await this.readJson<{ index: number; rows: DatasetRow[] }>(`${base}/chunks/${index}.json`, io);
      if (!chunk) throw new JobFailure(`Chunk ${index} of '${job.id}' is missing from the artifact store.`, 'chunk_missing');
      let result: ChunkResult;
      try {
        result = await this.runChunk(job, chunk.index, chunk.rows, options.abortSignal);
      } catch (err) {
        if (isAbortError(err) || options.abortSignal?.aborted || options.deliveryCount < (this.deps.maxDeliveries ?? Infinity)) throw err;
        this.deps.log?.(`job ${job.id}: chunk ${index} failed on its last delivery (${summarizeError(err).message}); counted as failed`);
        result = failedChunk(chunk.index, chunk.rows.length, err);
      }
      const plan = await this.readJson<Plan>(`${base}/plan.json`, io);
      const done = (await this.chunksDone(job.id, io)) + 1;
      // Progress before the marker: once every marker exists no chunk writes to the job any more,
      // so the job's own next step never races a progress update.
      await this.saveSteps(job.id, job.task, {}, () => (plan ? 0.05 + 0.35 * Math.min(1, done / plan.chunks) : undefined));
      await this.deps.artifacts.upsert(`${base}/results/${index}.json`, JSON.stringify(result), { ...io, contentType: 'application/json' });
      this.deps.log?.(`job ${job.id}: chunk ${index} done (${result.ok}/${result.examples} ok, ${result.reused} reused)`);
    }
    // Whoever sees every marker re-enters the job; two finishing together send the same message id.
    const plan = await this.readJson<Plan>(`${base}/plan.json`, io);
    if (plan && (await this.chunksDone(job.id, io)) >= plan.chunks) {
      await this.deps.queue.send({ messageId: `${job.id}:stage2`, body: { jobId: job.id, task: job.task, kind: 'dataset' } }, io);
    }
  };

  private teacherRequest(spec: DistillationSpec, row: DatasetRow): ChatModelRequest {
    const settings = taskTypeSettings(spec.task_type, {
      ...(labelsOf(spec) ? { labels: labelsOf(spec)! } : {}),
      chainOfThought: spec.prompt_settings.enable_chain_of_thought,
      maxSummaryWords: spec.prompt_settings.max_len_summary,
    });
    const hasSystem = row.messages.some((m) => m.role === 'system' || m.role === 'developer');
    const messages: ChatMessage[] = hasSystem ? row.messages : [{ role: 'system', content: settings.systemPrompt }, ...row.messages];
    const p = spec.teacher_settings.inference_parameters;
    const soft = spec.teacher_settings.soft_labels && isLabelTask(spec.task_type) && !spec.prompt_settings.enable_chain_of_thought;
    return {
      messages,
      ...(soft ? { logprobs: true, top_logprobs: 5 } : {}),
      temperature: p.temperature,
      top_p: p.top_p,
      max_tokens: p.max_tokens,
      ...(p.frequency_penalty !== undefined ? { frequency_penalty: p.frequency_penalty } : {}),
      ...(p.presence_penalty !== undefined ? { presence_penalty: p.presence_penalty } : {}),
      ...(p.stop ? { stop: p.stop } : {}),
    } as ChatModelRequest;
  }

  private async runChunk(job: JobRecord, index: number, rows: readonly DatasetRow[], parent: AbortSignal | undefined): Promise<ChunkResult> {
    // One listener on the worker's signal per chunk; the chunk's calls listen to their own.
    const local = new AbortController();
    const forward = () => local.abort(parent!.reason);
    if (parent?.aborted) forward();
    parent?.addEventListener('abort', forward, { once: true });
    try {
      return await this.runChunkWith(job, index, rows, parent ? local.signal : undefined);
    } finally {
      parent?.removeEventListener('abort', forward);
    }
  }

  private async runChunkWith(job: JobRecord, index: number, rows: readonly DatasetRow[], signal: AbortSignal | undefined): Promise<ChunkResult> {
    const spec = this.specOf(job);
    const teacher = this.deps.model(spec.teacher);
    const tenant = job.tenant ?? '*';
    const labels = labelsOf(spec);
    const started = this.deps.clock.now();
    const r: ChunkResult = {
      index,
      examples: rows.length,
      ok: 0,
      failed: 0,
      reused: 0,
      calls: 0,
      retries: 0,
      throttled: 0,
      errors: {},
      usage: { promptTokens: 0, completionTokens: 0 },
      costUsd: 0,
      latenciesInMs: [],
      durationInMs: 0,
    };
    // A 429 slows every call of the chunk, not just the one that got it.
    let pausedUntil = 0;
    const batch: PairRecord[] = [];
    let writing: Promise<void> = Promise.resolve();
    const flush = (withSignal = true) => {
      const pairs = batch.splice(0);
      if (pairs.length) writing = writing.then(() => this.deps.pairs.upsertMany(pairs, withSignal && signal ? { abortSignal: signal } : {}));
      return writing;
    };

    const one = async (row: DatasetRow) => {
      const id = `${job.id}:${row.id}`;
      const existing = await this.deps.pairs.get(job.task, tenant, id, signal ? { abortSignal: signal } : {});
      if (existing?.teacher?.text !== undefined && !existing.teacher.error) {
        r.reused++;
        r.ok++;
        return;
      }
      const request = this.teacherRequest(spec, row);
      let result: ChatModelResult | undefined;
      let failure: unknown;
      let latencyInMs = 0;
      for (let attempt = 1; attempt <= spec.retry.max_attempts; attempt++) {
        const wait = pausedUntil - this.deps.clock.now();
        if (wait > 0) await this.sleep(wait, signal);
        signal?.throwIfAborted();
        const t0 = performance.now();
        r.calls++;
        try {
          result = await teacher.generate(request, signal ? { abortSignal: signal } : {});
          latencyInMs = performance.now() - t0;
          failure = undefined;
          break;
        } catch (err) {
          latencyInMs = performance.now() - t0;
          if (isAbortError(err) || signal?.aborted) throw err;
          failure = err;
          const retryable = err instanceof DistilleryError ? err.retryable : true;
          if (!retryable || attempt === spec.retry.max_attempts) break;
          r.retries++;
          const hinted = retryAfterOf(err, Date.now());
          if (statusOf(err) === 429) r.throttled++;
          const backoff = Math.min(spec.retry.max_delay_ms, spec.retry.base_delay_ms * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
          const delay = Math.min(spec.retry.max_delay_ms, hinted ?? backoff);
          if (hinted !== undefined) pausedUntil = Math.max(pausedUntil, this.deps.clock.now() + delay);
          await this.sleep(delay, signal);
        }
      }
      const pair: PairRecord = {
        id,
        task: job.task,
        tenant,
        createdAt: new Date(this.deps.clock.now()).toISOString(),
        request: { messages: request.messages, params: { temperature: request.temperature, top_p: request.top_p, max_tokens: request.max_tokens } },
        servedArm: 'teacher',
        reason: `dataset distillation stage 1 (${spec.task_type})`,
        policy: 'dataset',
        source: { kind: 'dataset', datasetId: job.id, split: row.split, exampleId: row.id, ...(row.reference !== undefined ? { reference: row.reference } : {}) },
        teacher: { model: teacher.id, latencyInMs, role: 'served' },
      };
      if (result) {
        r.latenciesInMs.push(latencyInMs);
        r.usage.promptTokens += result.usage.promptTokens;
        r.usage.completionTokens += result.usage.completionTokens;
        // The upstream's own model name finds its price even when our id is an alias ('teacher').
        const cost = this.deps.price?.(result.model, teacher.hosting, result.usage, latencyInMs) ?? this.deps.price?.(teacher.id, teacher.hosting, result.usage, latencyInMs);
        if (cost !== undefined) r.costUsd += cost;
        const extracted = extractAnswer(spec.task_type, result.text, {
          ...(labels ? { labels } : {}),
          keepReasoning: spec.student.kind === 'remote',
        });
        const usable = isUsableAnswer(spec.task_type, extracted);
        pair.teacher = {
          ...pair.teacher!,
          model: result.model,
          text: extracted.target,
          finishReason: result.finishReason,
          usage: result.usage,
          ...(cost !== undefined ? { costUsd: cost } : {}),
          // The dataset builder turns the first token's top logprobs into the teacher's label distribution.
          ...(request.logprobs && result.logprobs?.length ? { logprobs: result.logprobs } : {}),
        };
        if (labels) pair.labels = { teacher: extracted.answer, usableForTraining: usable };
        if (usable) r.ok++;
        else {
          r.failed++;
          r.errors.unusable_answer = (r.errors.unusable_answer ?? 0) + 1;
          // An answer outside the task's shape must not train the student (the builder drops errors).
          pair.teacher.error = { status: 422, code: 'unusable_answer', message: `the answer holds no usable ${labels ? 'label' : 'answer'}` };
        }
      } else {
        const summary = summarizeError(failure);
        pair.teacher!.error = summary;
        r.failed++;
        r.errors[summary.code] = (r.errors[summary.code] ?? 0) + 1;
      }
      batch.push(pair);
      if (batch.length >= 25) await flush();
    };

    let next = 0;
    const worker = async () => {
      while (next < rows.length) await one(rows[next++]!);
    };
    try {
      await Promise.all(Array.from({ length: Math.min(spec.concurrency, rows.length) }, worker));
    } catch (err) {
      // A worker being stopped keeps the answers it already paid for: the rerun reuses them.
      await flush(false).catch(() => undefined);
      throw err;
    }
    await flush();
    r.durationInMs = this.deps.clock.now() - started;
    return r;
  }

  // --- the report -----------------------------------------------------------------------------------

  /**
   * Student vs teacher vs the un-distilled baseline on the held-out test split, with the task
   * type's metrics against gold references (where rows have them) and against the teacher. The
   * baseline of an ONNX classifier is the majority class of the teacher's training labels (what
   * an untrained classifier can do best without reading the input); of a remote student, its base
   * model as configured, when it is.
   */
  async report(
    job: JobRecord,
    input: { test: readonly DatasetExample[]; train: readonly DatasetExample[]; candidate: ChatModel; evaluation: CandidateEvaluation; version: ModelVersion },
  ): Promise<Record<string, unknown>> {
    const spec = this.specOf(job);
    const type: TaskType = spec.task_type;
    const labels = labelsOf(spec);
    const scoreOpts = { ...(labels ? { labels } : {}), maxSummaryWords: spec.prompt_settings.max_len_summary };
    const test = input.test;
    const withGold = test.filter((e) => e.reference !== undefined);
    const answerOf = (t: string) => extractAnswer(type, t, labels ? { labels } : {}).target;

    const runModel = async (model: ChatModel) => {
      const answers = new Array<string | null>(test.length).fill(null);
      const latencies: number[] = [];
      let next = 0;
      const worker = async () => {
        while (next < test.length) {
          const i = next++;
          const t0 = performance.now();
          try {
            answers[i] = (await model.generate({ messages: test[i]!.messages })).text;
          } catch {
            answers[i] = null;
          }
          latencies.push(performance.now() - t0);
        }
      };
      await Promise.all(Array.from({ length: model.hosting === 'in-process' ? 1 : 8 }, worker));
      return { answers, latency: summarizeLatencies(latencies) };
    };
    const score = (answers: readonly (string | null)[]) => ({
      vsGold: withGold.length ? meanScores(test.flatMap((e, i) => (e.reference !== undefined ? [scoreAnswer(type, answers[i] ?? '', e.reference, scoreOpts)] : []))) : undefined,
      vsTeacher: test.length ? meanScores(test.map((e, i) => scoreAnswer(type, answers[i] ?? '', e.target, scoreOpts))) : undefined,
      failedCalls: answers.filter((a) => a === null).length,
    });

    const student = await runModel(input.candidate);
    const teacherAnswers = test.map((e) => e.target);
    const generation = job.steps.generation as ReturnType<typeof summarizeStage1> | undefined;
    const teacher = {
      model: spec.teacher,
      ...score(teacherAnswers),
      latency: generation?.latency,
      costUsdPer1kExamples: generation && generation.ok ? (generation.costUsd / generation.ok) * 1000 : undefined,
    };

    let baseline: Record<string, unknown>;
    if (isLabelTask(type)) {
      const counts = new Map<string, number>();
      for (const e of input.train) if (e.label) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
      const majority = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? '';
      baseline = { kind: 'majority-class', description: `always answers '${majority}', the most frequent teacher label in training (an untrained classifier's best input-blind guess)`, ...score(test.map(() => majority)) };
    } else if (spec.student.kind === 'remote' && spec.student.baseline) {
      let model: ChatModel | undefined;
      try {
        model = this.deps.model(spec.student.baseline);
      } catch {
        model = undefined;
      }
      if (model) {
        const run = await runModel(model);
        baseline = { kind: 'base-model', model: model.id, ...score(run.answers), latency: run.latency };
      } else baseline = { kind: 'none', description: `baseline '${spec.student.baseline}' is not a configured model: no baseline was run` };
    } else baseline = { kind: 'none', description: 'name a configured model serving the base as student.baseline to compare with it' };

    const studentScores = score(student.answers);
    let judge: Record<string, unknown> | undefined;
    if (spec.judge && !isLabelTask(type)) {
      // MT-Bench-style pairwise judging on a sample: does the student answer as well as the teacher?
      const sample = test.slice(0, spec.judge_sample);
      const judgements = await judgePairs(
        this.deps.model(spec.judge),
        sample.map((e, i) => ({ question: lastUserText(e.messages), studentAnswer: student.answers[i] ?? '', teacherAnswer: e.target })),
        { concurrency: 4 },
      );
      judge = { model: spec.judge, ...summarizeJudgements(judgements) };
    }
    const main = taskTypeSettings(type).metrics[0]!;
    const pick = (s: { vsGold?: Record<string, number>; vsTeacher?: Record<string, number> } | undefined) => s?.vsGold?.[main] ?? s?.vsTeacher?.[main];
    const sMain = pick(studentScores);
    const tMain = pick(teacher);
    const bMain = pick(baseline as { vsGold?: Record<string, number>; vsTeacher?: Record<string, number> });
    return {
      taskType: type,
      testExamples: test.length,
      goldReferences: withGold.length,
      mainMetric: `${main} (${withGold.length ? 'vs gold' : 'vs teacher'})`,
      student: { model: input.candidate.id, version: input.version.version, ...studentScores, latency: student.latency, agreementWithTeacher: input.evaluation.candidate.agreement },
      teacher,
      baseline,
      ...(judge ? { judge } : {}),
      summary: {
        student: sMain,
        teacher: tMain,
        baseline: bMain,
        teacherQualityKept: sMain !== undefined && tMain ? sMain / tMain : undefined,
        improvementOverBaseline: sMain !== undefined && bMain !== undefined ? sMain - bMain : undefined,
        speedUp: teacher.latency && student.latency.p50InMs > 0 ? teacher.latency.p50InMs / student.latency.p50InMs : undefined,
      },
    };
  }
}

/** A chunk given up after its last delivery: every example counts as failed. */
function failedChunk(index: number, examples: number, err: unknown): ChunkResult {
  return {
    index,
    examples,
    ok: 0,
    failed: examples,
    reused: 0,
    calls: 0,
    retries: 0,
    throttled: 0,
    errors: { chunk_failed: examples },
    usage: { promptTokens: 0, completionTokens: 0 },
    costUsd: 0,
    latenciesInMs: [],
    durationInMs: 0,
    lastError: summarizeError(err),
  };
}

/** Stage 1 over all chunks: counts, success ratio, failures by cause, tokens, cost, latency. */
export function summarizeStage1(plan: Plan, results: readonly ChunkResult[], spec: Pick<DistillationSpec, 'min_success_ratio'>) {
  const sum = (f: (r: ChunkResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const ok = sum((r) => r.ok);
  const examples = sum((r) => r.examples);
  return {
    chunks: plan.chunks,
    examples,
    train: plan.train,
    validation: plan.validation,
    duplicatesDropped: plan.duplicates,
    ok,
    failed: sum((r) => r.failed),
    reused: sum((r) => r.reused),
    successRatio: examples ? ok / examples : 0,
    minSuccessRatio: spec.min_success_ratio,
    calls: sum((r) => r.calls),
    retries: sum((r) => r.retries),
    throttled: sum((r) => r.throttled),
    errors,
    usage: { promptTokens: sum((r) => r.usage.promptTokens), completionTokens: sum((r) => r.usage.completionTokens) },
    costUsd: sum((r) => r.costUsd),
    latency: summarizeLatencies(results.flatMap((r) => r.latenciesInMs)),
    chunkDurationsInMs: results.map((r) => r.durationInMs),
  };
}
