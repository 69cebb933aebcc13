import OpenAI, { APIConnectionError, APIError, APIUserAbortError, toFile } from 'openai';
import type { FileObject } from 'openai/resources/files';
import type { FineTuningJob, FineTuningJobEvent } from 'openai/resources/fine-tuning/jobs/jobs';
import { toChatFineTuningJsonl, type DatasetExample } from '../../core/distill/dataset-builder.js';
import { JobFailure } from '../../core/distill/job-runner.js';
import { isAbortError, UpstreamError } from '../../core/errors.js';
import { hash53 } from '../../core/hash.js';
import type { OperationOptions, Trainer, TrainedModel, TrainRequest } from '../../core/ports.js';
import type { ModelSettings } from '../../core/chat/model-settings.js';
import { createOpenAIClient } from './create-openai-client.js';
import type { CreateModelOptions } from './openai-client-options.js';
import { abortableSleep, retryWithinBudget } from '../../core/retry.js';
import { retryAfterHeaderInMs } from '../shared/retry-after-header.js';

// Stage 2 on Azure OpenAI (or OpenAI) fine-tuning: upload the train/validation JSONL, create the
// fine-tuning job, poll its status and events until it ends, and hand back the fine-tuned model
// as a remote student. The client is built by the caller (`AzureOpenAI` in production, any
// `OpenAI` client in tests), so credentials, api-version and fetch stay out of this file.
//
// Idempotency: a worker may die while a fine-tuning job runs for hours. Everything this trainer
// creates is named after the Distillery job id — uploaded files are `distillery-<jobId>-train.jsonl`
// / `-validation.jsonl` and the job carries `metadata.distillery_job` — so a retried train() lists
// what exists and resumes polling the earlier fine-tuning job instead of paying for a second one.
//
// Limits: Azure OpenAI runs one training job per resource and queues at most 20; beyond that it
// answers 429 (or 400) with `quotaExceeded` / `tooManyRequests`. That is a reason to wait, not to
// fail the distillation job, so creation is retried until `maxQuotaWaitInMs` has passed.

export type FineTuningClient = Pick<OpenAI, 'files' | 'fineTuning'>;

export interface AzureOpenAIFineTuningTrainerOptions {
  client: FineTuningClient;
  /**
   * Id of the configured model (in the configuration's `models`) whose endpoint and credentials
   * serve the fine-tuned deployments; stored with the version so compose can serve it.
   */
  modelRef: string;
  /** How often the job status and events are read (default 30 s; tests use a few ms). */
  pollIntervalInMs?: number;
  /** How often creation is retried while the resource's job limit is reached (default 60 s). */
  quotaRetryIntervalInMs?: number;
  /** Give up waiting for a free training slot after this long (default 24 h). */
  maxQuotaWaitInMs?: number;
  /**
   * Give up on a fine-tuning job that has not ended this long after it was created (default 35
   * days: Azure's 720-hour training limit plus time queued behind other jobs of the resource).
   */
  maxTrainingTimeInMs?: number;
  /**
   * Send `metadata: { distillery_job }` with the job (OpenAI and recent Azure api-versions).
   * Turn off for api-versions that reject it; the uploaded file names still identify the job.
   */
  sendMetadata?: boolean;
  /**
   * Azure serves a fine-tuned model only through a deployment (created through the control
   * plane). Maps the fine-tuned model name to the name requests must use; default: the same name.
   */
  deploymentName?: (fineTunedModel: string, job: FineTuningJob, options: OperationOptions) => string | Promise<string>;
  /** Receives progress lines (status changes, events) for the job log. */
  log?: (message: string) => void;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const QUOTA_CODES = new Set(['quotaExceeded', 'tooManyRequests', 'rate_limit_exceeded', 'quota_exceeded']);
/** Status of an uploaded file that is ready (OpenAI: uploaded/processed; Azure: processed). */
const FILE_READY = new Set(['uploaded', 'processed']);
const FILE_PENDING = new Set(['pending', 'running']);

/**
 * The client for fine-tuning on the resource of a configured model (its endpoint, api-version and
 * credentials): files and jobs are resource-level routes, so the deployment is dropped, and an
 * upload of a large training file gets at least two minutes.
 */
export function createFineTuningClient(settings: ModelSettings, options: CreateModelOptions): FineTuningClient {
  const { deployment: _deployment, ...resource } = settings;
  return createOpenAIClient({ ...resource, timeoutInMs: Math.max(settings.timeoutInMs, 120_000) }, options);
}

export const fileNameOf = (jobId: string, split: 'train' | 'validation') => `distillery-${jobId}-${split}.jsonl`;

/** A seed derived from the job id: the same job always asks for the same run. */
export const seedOf = (jobId: string) => parseInt(hash53(jobId).slice(-7), 16) % 2_147_483_647;

function errorCode(err: APIError): string | undefined {
  const e = err.error as { code?: unknown; error?: { code?: unknown } } | undefined;
  const code = err.code ?? e?.code ?? e?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Azure's "too many jobs" answers: 429, or 400 with a quota code or message. */
export function isQuotaError(err: unknown): boolean {
  if (!(err instanceof APIError)) return false;
  const code = errorCode(err);
  if (err.status === 429) return true;
  if (err.status === 400 || err.status === 403) {
    if (code && QUOTA_CODES.has(code)) return true;
    return /quota|maximum number of (?:jobs|training jobs)|too many (?:active|running|queued)/i.test(err.message);
  }
  return false;
}

/**
 * Runs one SDK call on a child signal linked to `parent` only for the call's duration: the SDK
 * leaves a listener on every signal it is given, and a poll loop of hours on the worker's one
 * signal would pile up thousands of them.
 */
async function scoped<T>(parent: AbortSignal | undefined, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (!parent) return fn(undefined);
  parent.throwIfAborted();
  const child = new AbortController();
  const onAbort = () => child.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn(child.signal);
  } finally {
    parent.removeEventListener('abort', onAbort);
  }
}

interface LossReading {
  step?: number;
  totalSteps?: number;
  train_loss?: number;
  valid_loss?: number;
  train_mean_token_accuracy?: number;
  valid_mean_token_accuracy?: number;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);

/** Metrics from one event: OpenAI's `type: 'metrics'` data, or Azure's "Step n/m: training loss=…" text. */
export function readEventMetrics(event: Pick<FineTuningJobEvent, 'message' | 'data' | 'type'>): LossReading | undefined {
  const data = event.data as Record<string, unknown> | null | undefined;
  const out: LossReading = {};
  if (data && typeof data === 'object') {
    for (const k of ['train_loss', 'valid_loss', 'train_mean_token_accuracy', 'valid_mean_token_accuracy'] as const) {
      const v = num(data[k]);
      if (v !== undefined) out[k] = v;
    }
    const step = num(data.step);
    const total = num(data.total_steps);
    if (step !== undefined) out.step = step;
    if (total !== undefined) out.totalSteps = total;
  }
  const m = /step\s+(\d+)(?:\s*\/\s*(\d+))?/i.exec(event.message ?? '');
  if (m) {
    out.step ??= Number(m[1]);
    if (m[2]) out.totalSteps ??= Number(m[2]);
  }
  const train = /train(?:ing)?[ _]loss\s*[=:]\s*([\d.eE+-]+)/i.exec(event.message ?? '');
  const valid = /valid(?:ation)?[ _]loss\s*[=:]\s*([\d.eE+-]+)/i.exec(event.message ?? '');
  if (train && out.train_loss === undefined) out.train_loss = Number(train[1]);
  if (valid && out.valid_loss === undefined) out.valid_loss = Number(valid[1]);
  return Object.keys(out).length ? out : undefined;
}

/** The last row of a fine-tuning result file (CSV: step,train_loss,…,valid_loss,…). */
export function readResultCsv(csv: string): LossReading | undefined {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) return undefined;
  const header = lines[0]!.split(',').map((h) => h.trim());
  for (let i = lines.length - 1; i >= 1; i--) {
    const cells = lines[i]!.split(',');
    const row: Record<string, unknown> = Object.fromEntries(header.map((h, j) => [h, cells[j]]));
    // Azure writes the full-validation-set loss on the last row; prefer it when present.
    const reading = readEventMetrics({
      message: '',
      data: {
        step: row.step,
        train_loss: row.train_loss,
        valid_loss: row.full_valid_loss ?? row.valid_loss,
        train_mean_token_accuracy: row.train_mean_token_accuracy ?? row.train_accuracy,
        valid_mean_token_accuracy: row.full_valid_mean_token_accuracy ?? row.valid_mean_token_accuracy ?? row.validation_accuracy,
      },
    });
    if (reading && reading.train_loss !== undefined) return reading;
  }
  return undefined;
}

export class AzureOpenAIFineTuningTrainer implements Trainer {
  readonly kind = 'azure-openai';
  private readonly client: FineTuningClient;
  private readonly modelRef: string;
  private readonly pollIntervalInMs: number;
  private readonly quotaRetryIntervalInMs: number;
  private readonly maxQuotaWaitInMs: number;
  private readonly maxTrainingTimeInMs: number;
  private readonly sendMetadata: boolean;
  private readonly deploymentName: NonNullable<AzureOpenAIFineTuningTrainerOptions['deploymentName']>;
  private readonly log: (message: string) => void;

  constructor(options: AzureOpenAIFineTuningTrainerOptions) {
    this.client = options.client;
    this.modelRef = options.modelRef;
    this.pollIntervalInMs = options.pollIntervalInMs ?? 30_000;
    this.quotaRetryIntervalInMs = options.quotaRetryIntervalInMs ?? 60_000;
    this.maxQuotaWaitInMs = options.maxQuotaWaitInMs ?? 24 * 3_600_000;
    this.maxTrainingTimeInMs = options.maxTrainingTimeInMs ?? 35 * 24 * 3_600_000;
    this.sendMetadata = options.sendMetadata ?? true;
    this.deploymentName = options.deploymentName ?? ((name) => name);
    this.log = options.log ?? (() => undefined);
  }

  /** Reachability before any paid call: the resource answers a one-item list of its fine-tuning jobs. */
  async preflight(_task: unknown, options: OperationOptions = {}): Promise<void> {
    await scoped(options.abortSignal, (signal) => this.client.fineTuning.jobs.list({ limit: 1 }, { signal, maxRetries: 0 }));
  }

  async train(
    request: TrainRequest,
    options: OperationOptions & { onProgress?: (fraction: number, message?: string) => void } = {},
  ): Promise<TrainedModel> {
    const { abortSignal } = options;
    const progress = (fraction: number, message: string) => {
      this.log(`${request.jobId}: ${message}`);
      options.onProgress?.(fraction, message);
    };
    if (request.train.length === 0) {
      throw new JobFailure(`Job '${request.jobId}' has no training examples to fine-tune on.`, 'no_training_data');
    }
    try {
      let job = await this.findJob(request.jobId, abortSignal);
      if (job) {
        progress(0.1, `resuming fine-tuning job ${job.id} (${job.status})`);
      } else {
        const files = await this.uploadFiles(request, abortSignal);
        progress(0.05, `uploaded ${files.train.filename}${files.validation ? ` and ${files.validation.filename}` : ''}`);
        await this.waitForFiles([files.train, ...(files.validation ? [files.validation] : [])], abortSignal);
        job = await this.createJob(request, files.train.id, files.validation?.id, abortSignal, progress);
        progress(0.1, `created fine-tuning job ${job.id} on ${job.model}`);
      }
      return await this.follow(request, job, abortSignal, progress);
    } catch (err) {
      throw this.mapError(err, abortSignal);
    }
  }

  // --- finding earlier work ------------------------------------------------------------------

  /** The fine-tuning job an earlier attempt created for this Distillery job, if any. */
  private async findJob(jobId: string, abortSignal: AbortSignal | undefined): Promise<FineTuningJob | undefined> {
    const fileIds = new Set<string>();
    const trainName = fileNameOf(jobId, 'train');
    await scoped(abortSignal, async (signal) => {
      for await (const f of this.client.files.list({ purpose: 'fine-tune' }, { signal })) if (f.filename === trainName) fileIds.add(f.id);
    });
    // Preference: tagged with this job id over merely trained on its file (someone may have
    // reused the file); live or successful over failed/cancelled (history); then the oldest.
    const rank = (j: FineTuningJob, tagged: boolean) => [tagged ? 0 : 1, j.status === 'failed' || j.status === 'cancelled' ? 1 : 0, j.created_at];
    const better = (a: number[], b: number[]) => (a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!) < 0;
    return scoped(abortSignal, async (signal) => {
      let found: { job: FineTuningJob; rank: number[] } | undefined;
      for await (const j of this.client.fineTuning.jobs.list({ limit: 100 }, { signal })) {
        const tagged = (j.metadata as Record<string, string> | null | undefined)?.distillery_job === jobId;
        if (!tagged && !fileIds.has(j.training_file)) continue;
        const r = rank(j, tagged);
        if (!found || better(r, found.rank)) found = { job: j, rank: r };
      }
      return found?.job;
    });
  }

  private async findFile(name: string, abortSignal: AbortSignal | undefined): Promise<FileObject | undefined> {
    return scoped(abortSignal, async (signal) => {
      for await (const f of this.client.files.list({ purpose: 'fine-tune' }, { signal })) {
        if (f.filename === name && f.status !== 'error' && f.status !== ('deleted' as string)) return f;
      }
      return undefined;
    });
  }

  // --- upload and create -----------------------------------------------------------------------

  private async uploadFiles(request: TrainRequest, abortSignal: AbortSignal | undefined) {
    const upload = async (split: 'train' | 'validation', examples: readonly DatasetExample[]) => {
      const name = fileNameOf(request.jobId, split);
      // A crash between upload and job creation leaves the file behind: reuse it.
      const existing = await this.findFile(name, abortSignal);
      if (existing) return existing;
      const body = toChatFineTuningJsonl(examples);
      const file = await toFile(Buffer.from(body, 'utf8'), name, { type: 'application/jsonl' });
      return this.withQuotaRetry(
        () => scoped(abortSignal, (signal) => this.client.files.create({ file, purpose: 'fine-tune' }, { signal })),
        abortSignal,
        `upload of ${name}`,
      );
    };
    const train = await upload('train', request.train);
    const validation = request.validation.length ? await upload('validation', request.validation) : undefined;
    return { train, validation };
  }

  /** Azure imports an uploaded file before a job may use it; OpenAI answers `processed` at once. */
  private async waitForFiles(files: FileObject[], abortSignal: AbortSignal | undefined) {
    for (let file of files) {
      const started = Date.now();
      while (!FILE_READY.has(file.status)) {
        if (!FILE_PENDING.has(file.status)) {
          throw new JobFailure(
            `Fine-tuning file ${file.filename} (${file.id}) was rejected: ${file.status_details ?? file.status}.`,
            'fine_tuning_file_rejected',
          );
        }
        if (Date.now() - started > this.maxTrainingTimeInMs) throw new JobFailure(`File ${file.id} was not processed in time.`, 'fine_tuning_timeout');
        await abortableSleep(this.pollIntervalInMs, abortSignal);
        const id = file.id;
        file = await scoped(abortSignal, (signal) => this.client.files.retrieve(id, { signal }));
      }
    }
  }

  private hyperparametersOf(request: TrainRequest) {
    const ft = request.task.distill.fineTuning;
    return {
      n_epochs: ft.n_epochs,
      ...(ft.batch_size !== undefined ? { batch_size: ft.batch_size } : {}),
      ...(ft.learning_rate_multiplier !== undefined ? { learning_rate_multiplier: ft.learning_rate_multiplier } : {}),
    };
  }

  private async createJob(
    request: TrainRequest,
    trainingFile: string,
    validationFile: string | undefined,
    abortSignal: AbortSignal | undefined,
    progress: (fraction: number, message: string) => void,
  ): Promise<FineTuningJob> {
    const ft = request.task.distill.fineTuning;
    const body = {
      model: ft.baseModel,
      training_file: trainingFile,
      ...(validationFile ? { validation_file: validationFile } : {}),
      hyperparameters: this.hyperparametersOf(request),
      suffix: ft.suffix ?? request.task.name.replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 18),
      seed: seedOf(request.jobId),
      ...(this.sendMetadata ? { metadata: { distillery_job: request.jobId, distillery_task: request.task.name } } : {}),
    };
    return this.withQuotaRetry(
      () => scoped(abortSignal, (signal) => this.client.fineTuning.jobs.create(body, { signal })),
      abortSignal,
      'fine-tuning job creation',
      (message) => progress(0.05, message),
    );
  }

  /** Runs `call`, waiting and retrying while the service says its job/quota limit is reached. */
  private withQuotaRetry<T>(call: () => Promise<T>, abortSignal: AbortSignal | undefined, what: string, onWait?: (message: string) => void): Promise<T> {
    return retryWithinBudget(call, {
      isRetryable: isQuotaError,
      intervalInMs: this.quotaRetryIntervalInMs,
      budgetInMs: this.maxQuotaWaitInMs,
      hintInMs: (err) => retryAfterHeaderInMs((err as APIError).headers, Date.now()),
      onWait: (err, wait, attempt) =>
        (onWait ?? ((m: string) => this.log(m)))(`${what}: resource limit reached (${errorCode(err as APIError) ?? (err as APIError).status}), waiting ${wait} ms (attempt ${attempt})`),
      onExhausted: (err, waited) =>
        new JobFailure(`Gave up on ${what} after waiting ${Math.round(waited / 1000)} s for the fine-tuning quota: ${(err as APIError).message}`, 'fine_tuning_quota_exhausted'),
      ...(abortSignal ? { abortSignal } : {}),
    });
  }

  // --- polling -------------------------------------------------------------------------------------

  private async follow(
    request: TrainRequest,
    initial: FineTuningJob,
    abortSignal: AbortSignal | undefined,
    progress: (fraction: number, message: string) => void,
  ): Promise<TrainedModel> {
    let job = initial;
    let lastStatus = '';
    let lastEventId: string | undefined;
    const losses: LossReading = {};
    // Measured from the job's creation, so a resumed job does not get a fresh allowance.
    const started = Math.min(Date.now(), initial.created_at ? initial.created_at * 1000 : Date.now());
    for (;;) {
      if (job.status !== lastStatus) {
        progress(job.status === 'running' ? 0.3 : 0.15, `fine-tuning job ${job.id}: ${job.status}`);
        lastStatus = job.status;
      }
      lastEventId = await this.readEvents(job.id, lastEventId, losses, abortSignal, progress);
      if (TERMINAL.has(job.status)) break;
      if (Date.now() - started > this.maxTrainingTimeInMs) {
        throw new JobFailure(`Fine-tuning job ${job.id} did not finish within ${this.maxTrainingTimeInMs} ms (last status ${job.status}).`, 'fine_tuning_timeout');
      }
      await abortableSleep(this.pollIntervalInMs, abortSignal);
      const id = job.id;
      job = await scoped(abortSignal, (signal) => this.client.fineTuning.jobs.retrieve(id, { signal }));
    }
    if (job.status === 'failed') {
      const detail = job.error ? `${job.error.message}${job.error.code ? ` (${job.error.code})` : ''}` : 'no reason given';
      throw new JobFailure(`Fine-tuning job ${job.id} on ${job.model} failed: ${detail}`, 'fine_tuning_failed');
    }
    if (job.status === 'cancelled') {
      throw new JobFailure(`Fine-tuning job ${job.id} on ${job.model} was cancelled.`, 'fine_tuning_cancelled');
    }
    if (!job.fine_tuned_model) {
      throw new JobFailure(`Fine-tuning job ${job.id} succeeded but names no fine-tuned model.`, 'fine_tuning_failed');
    }
    Object.assign(losses, await this.readResultFiles(job, abortSignal));
    const deployment = await this.deploymentName(job.fine_tuned_model, job, { ...(abortSignal ? { abortSignal } : {}) });
    progress(1, `fine-tuned model ${job.fine_tuned_model}${deployment !== job.fine_tuned_model ? ` deployed as ${deployment}` : ''}`);
    const metrics: Record<string, number> = {
      trainExamples: request.train.length,
      validationExamples: request.validation.length,
    };
    if (typeof job.trained_tokens === 'number') metrics.trained_tokens = job.trained_tokens;
    for (const k of ['train_loss', 'valid_loss', 'train_mean_token_accuracy', 'valid_mean_token_accuracy'] as const) {
      if (losses[k] !== undefined) metrics[k] = losses[k]!;
    }
    if (job.finished_at && job.created_at) metrics.trainingTimeInMs = (job.finished_at - job.created_at) * 1000;
    return {
      kind: 'remote',
      endpoint: { modelRef: this.modelRef, model: deployment },
      hyperparameters: {
        ...this.hyperparametersOf(request),
        // What the service resolved ('auto' → a number) is what was trained with.
        ...Object.fromEntries(Object.entries(job.hyperparameters ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== 'auto')),
        baseModel: job.model,
        seed: job.seed,
        fineTuningJobId: job.id,
        fineTunedModel: job.fine_tuned_model,
        trainingFile: job.training_file,
        ...(job.validation_file ? { validationFile: job.validation_file } : {}),
      },
      metrics,
    };
  }

  /** Reads events newer than `after` (the API lists newest first); returns the newest id seen. */
  private async readEvents(
    jobId: string,
    after: string | undefined,
    losses: LossReading,
    abortSignal: AbortSignal | undefined,
    progress: (fraction: number, message: string) => void,
  ): Promise<string | undefined> {
    const fresh: FineTuningJobEvent[] = [];
    await scoped(abortSignal, async (signal) => {
      for await (const e of this.client.fineTuning.jobs.listEvents(jobId, { limit: 100 }, { signal })) {
        if (e.id === after) break;
        fresh.push(e);
        // First call on a long job: the newest 500 events are plenty for the last loss values.
        if (fresh.length >= 500) break;
      }
    });
    for (const e of fresh.reverse()) {
      const reading = readEventMetrics(e);
      if (reading) {
        Object.assign(losses, reading);
        if (reading.step !== undefined && reading.totalSteps) {
          progress(0.3 + 0.65 * Math.min(1, reading.step / reading.totalSteps), `step ${reading.step}/${reading.totalSteps}${reading.train_loss !== undefined ? `, train loss ${reading.train_loss}` : ''}`);
        }
      } else if (e.level !== 'info') {
        this.log(`${jobId}: ${e.level}: ${e.message}`);
      }
    }
    return fresh.length ? fresh[fresh.length - 1]!.id : after;
  }

  private async readResultFiles(job: FineTuningJob, abortSignal: AbortSignal | undefined): Promise<LossReading> {
    for (const id of job.result_files ?? []) {
      try {
        const text = await scoped(abortSignal, async (signal) => (await this.client.files.content(id, { signal })).text());
        // Azure stores the CSV base64-encoded in some api-versions.
        const csv = /^[A-Za-z0-9+/=\s]+$/.test(text) && !text.includes(',') ? Buffer.from(text, 'base64').toString('utf8') : text;
        const reading = readResultCsv(csv);
        if (reading) return reading;
      } catch (err) {
        if (isAbortError(err)) throw err;
        // Result files are a nicety; the events already carried the losses.
        this.log(`${job.id}: could not read result file ${id}: ${(err as Error).message}`);
      }
    }
    return {};
  }

  // --- errors ----------------------------------------------------------------------------------------

  private mapError(err: unknown, abortSignal: AbortSignal | undefined): unknown {
    if (err instanceof JobFailure || err instanceof UpstreamError) return err;
    // An abort (the worker is stopping) is not the job's failure: surface the caller's reason.
    if (abortSignal?.aborted) return abortSignal.reason ?? err;
    if (err instanceof APIUserAbortError || isAbortError(err)) return err;
    if (err instanceof APIError && err.status !== undefined) {
      const code = errorCode(err);
      // 4xx other than throttling: the request or the data is wrong; retrying cannot help.
      if (err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 409 && err.status !== 429) {
        return new JobFailure(`Azure OpenAI fine-tuning rejected the request (${err.status}${code ? ` ${code}` : ''}): ${err.message}`, 'fine_tuning_rejected');
      }
      return new UpstreamError(this.kind, `fine-tuning API answered ${err.status}: ${err.message}`, { upstreamStatus: err.status, retryable: true, cause: err });
    }
    if (err instanceof APIConnectionError) return new UpstreamError(this.kind, `fine-tuning API unreachable: ${err.message}`, { retryable: true, cause: err });
    return err;
  }
}
