import { azureMLStudentOf } from '../../core/distill/azure-ml-spec.js';
import { toChatFineTuningJsonl, type DatasetExample } from '../../core/distill/dataset-builder.js';
import { JobFailure } from '../../core/distill/job-failure.js';
import { DistilleryError, isAbortError, UpstreamError } from '../../core/errors.js';
import { priceFineTuning } from '../../core/eval/fine-tuning-prices.js';
import { hash53 } from '../../core/hash.js';
import type { OperationOptions, Trainer, TrainedModel, TrainRequest } from '../../core/ports.js';
import { abortableSleep, retryWithinBudget } from '../../core/retry.js';
import { AzureMLError, type ArmResource, type AzureMLClient, type AzureMLJobProperties } from './azure-ml-rest-client.js';
import type { ServerlessAuthMode } from './serverless-endpoint-auth.js';

// Stage 2 on Azure ML: the generative students of the case study (Phi-4-mini, Phi-3.5-mini,
// Llama-3.1-8B) fine-tuned serverless (LoRA) on the teacher's answers, registered, and served from
// a serverless endpoint that speaks the OpenAI chat API. Steps: upload train/validation JSONL as
// data assets, submit the FineTuning job, poll it, register the model, deploy the endpoint (or use
// a named existing one), and return a remote version whose endpoint the serving side calls.
//
// Idempotency: everything is named after the Distillery job id (data assets, the Azure ML job, the
// model version, the endpoint), so a retried train() after a worker died finds what exists and
// resumes polling instead of paying for a second run.
//
// Quota: a workspace without serverless fine-tuning quota left answers the job submission with a
// quota error; that is a reason to wait (retry-after, else `quotaRetryIntervalInMs`), not to fail.

export interface AzureMLTrainerOptions {
  client: AzureMLClient;
  /** Configured model whose settings (auth, time-outs) serve the deployed endpoint; stored with the version. */
  modelRef: string;
  /** An existing serverless endpoint to serve from, instead of deploying one per job. */
  endpointName?: string;
  /** `Key` (default) or `AAD` (Entra ID): how the endpoint authenticates callers (serverless-endpoint-auth.ts). */
  authMode?: ServerlessAuthMode;
  pollIntervalInMs?: number;
  quotaRetryIntervalInMs?: number;
  maxQuotaWaitInMs?: number;
  /** Give up on a job that has not ended this long after it was created (default 7 days). */
  maxTrainingTimeInMs?: number;
  log?: (message: string) => void;
}

type Progress = (fraction: number, message: string) => void;
type AmlJob = ArmResource<AzureMLJobProperties>;

const ACTIVE = new Set(['notstarted', 'starting', 'provisioning', 'preparing', 'queued', 'running', 'finalizing', 'cancelrequested', 'notresponding', 'paused', 'unknown']);
const STARTED = new Set(['running', 'finalizing']);

/** Azure ML names: letters, digits, `-` and `_`; the job id may hold other characters. */
const safe = (s: string) => s.replace(/[^a-zA-Z0-9_-]/g, '-');
export const azureMLJobNameOf = (jobId: string) => `distillery-${safe(jobId)}`.slice(0, 200);
export const dataAssetNameOf = (jobId: string, split: 'train' | 'validation') => `distillery-${safe(jobId)}-${split}`.slice(0, 200);
/** Serverless endpoint names: 3-32 characters, a letter first; unique per job. */
export const endpointNameOf = (jobId: string) => `distillery-${hash53(jobId).slice(0, 12)}`;

export function isQuotaError(err: unknown): boolean {
  if (!(err instanceof AzureMLError)) return false;
  if (err.status === 429) return true;
  return (err.status === 400 || err.status === 403 || err.status === 409) && (/quota/i.test(err.code ?? '') || /quota|capacity/i.test(err.message));
}

export class AzureMLTrainer implements Trainer {
  readonly kind = 'azure-ml';
  private readonly o: Required<Omit<AzureMLTrainerOptions, 'endpointName'>> & Pick<AzureMLTrainerOptions, 'endpointName'>;

  constructor(options: AzureMLTrainerOptions) {
    this.o = {
      pollIntervalInMs: 30_000,
      quotaRetryIntervalInMs: 60_000,
      maxQuotaWaitInMs: 24 * 3_600_000,
      maxTrainingTimeInMs: 7 * 24 * 3_600_000,
      authMode: 'Key',
      log: () => undefined,
      ...options,
    };
  }

  /** Before any paid call: a student Azure ML fine-tunes, and a workspace this identity can read. */
  async preflight(task: TrainRequest['task'], options: OperationOptions = {}): Promise<void> {
    if (!azureMLStudentOf(task.distill.fineTuning.baseModel)) {
      throw new DistilleryError(`Azure ML serverless fine-tuning has no student '${task.distill.fineTuning.baseModel}'.`, { status: 400, type: 'invalid_request_error', code: 'unsupported_student', param: 'student.baseModel' });
    }
    await this.o.client.getWorkspace(options);
  }

  async train(request: TrainRequest, options: OperationOptions & { onProgress?: (fraction: number, message?: string) => void } = {}): Promise<TrainedModel> {
    const { abortSignal } = options;
    const progress: Progress = (fraction, message) => {
      this.o.log(`${request.jobId}: ${message}`);
      options.onProgress?.(fraction, message);
    };
    const ft = request.task.distill.fineTuning;
    const student = azureMLStudentOf(ft.baseModel);
    if (!student) throw new JobFailure(`Azure ML serverless fine-tuning has no student '${ft.baseModel}' (Phi-4-mini-instruct, Phi-3.5-mini-instruct, Meta-Llama-3.1-8B-Instruct).`, 'unsupported_student');
    if (request.train.length === 0) throw new JobFailure(`Job '${request.jobId}' has no training examples to fine-tune on.`, 'no_training_data');
    const o = abortSignal ? { abortSignal } : {};
    try {
      const name = azureMLJobNameOf(request.jobId);
      let job = await this.o.client.getJob(name, o);
      if (job) progress(0.1, `resuming Azure ML job ${name} (${job.properties.status})`);
      else {
        const train = await this.ensureData(request.jobId, 'train', request.train, o);
        const validation = request.validation.length ? await this.ensureData(request.jobId, 'validation', request.validation, o) : undefined;
        progress(0.05, `uploaded data assets ${train}${validation ? ` and ${validation}` : ''}`);
        job = await this.withQuotaWait(() => this.o.client.createJob(name, this.jobProperties(request, student.uri, train, validation), o), abortSignal, progress);
        progress(0.1, `submitted Azure ML fine-tuning job ${name} for ${student.name}`);
      }
      job = await this.follow(name, job, abortSignal, progress);
      const model = await this.register(request, name, job, o);
      progress(0.97, `registered model ${model.name}:${model.version}`);
      const endpoint = await this.deploy(request.jobId, model, o, progress);
      progress(1, `serving ${student.name} fine-tune from serverless endpoint ${endpoint.name}`);
      return {
        kind: 'remote',
        endpoint: { modelRef: this.o.modelRef, baseURL: endpoint.uri, model: student.name },
        hyperparameters: {
          ...this.hyperparametersOf(request),
          baseModel: student.uri,
          azureMLJob: name,
          registeredModel: `${model.name}:${model.version}`,
          serverlessEndpoint: endpoint.name,
        },
        metrics: { trainExamples: request.train.length, validationExamples: request.validation.length, ...trainingTimeOf(job), ...costOf(student.name, request) },
      };
    } catch (err) {
      throw this.mapError(err, abortSignal);
    }
  }

  /** The string hyperparameters Azure ML takes; the spec refused what it cannot apply. */
  private hyperparametersOf(request: TrainRequest): Record<string, string> {
    const ft = request.task.distill.fineTuning;
    return {
      n_epochs: String(ft.n_epochs),
      ...(ft.batch_size !== undefined ? { batch_size: String(ft.batch_size) } : {}),
      ...(ft.learning_rate_multiplier !== undefined ? { learning_rate_multiplier: String(ft.learning_rate_multiplier) } : {}),
    };
  }

  private registeredNameOf(request: TrainRequest): string {
    return safe(request.task.distill.fineTuning.registeredModel ?? `${request.task.name}-distilled`).slice(0, 200);
  }

  private jobProperties(request: TrainRequest, modelUri: string, train: string, validation: string | undefined): AzureMLJobProperties {
    const input = (asset: string) => ({ jobInputType: 'uri_file', uri: `azureml:${asset}:1` });
    return {
      jobType: 'FineTuning',
      displayName: `distillery ${request.task.name} ${request.jobId}`,
      experimentName: safe(request.task.name),
      tags: { distillery_job: request.jobId, distillery_task: request.task.name, teacher: request.teacherModel },
      fineTuningDetails: {
        modelProvider: 'Custom',
        taskType: 'ChatCompletion',
        model: { jobInputType: 'mlflow_model', uri: modelUri },
        trainingData: input(train),
        ...(validation ? { validationData: input(validation) } : {}),
        hyperParameters: this.hyperparametersOf(request),
      },
      outputs: { registered_model: { jobOutputType: 'mlflow_model', assetName: this.registeredNameOf(request) } },
    };
  }

  /** A data asset holding one split, version 1; reused when an earlier attempt made it. */
  private async ensureData(jobId: string, split: 'train' | 'validation', examples: readonly DatasetExample[], o: OperationOptions): Promise<string> {
    const name = dataAssetNameOf(jobId, split);
    if (await this.o.client.getDataVersion(name, '1', o)) return name;
    const { blobUri, sasUri } = await this.o.client.startPendingUpload(name, '1', o);
    await this.o.client.uploadBlob(sasUri, toChatFineTuningJsonl(examples), o);
    await this.o.client.createDataVersion(name, '1', blobUri, { distillery_job: jobId, split }, o);
    return name;
  }

  private withQuotaWait<T>(call: () => Promise<T>, abortSignal: AbortSignal | undefined, progress: Progress): Promise<T> {
    return retryWithinBudget(call, {
      isRetryable: isQuotaError,
      intervalInMs: this.o.quotaRetryIntervalInMs,
      budgetInMs: this.o.maxQuotaWaitInMs,
      onWait: (err, wait, attempt) => progress(0.05, `Azure ML quota reached (${(err as AzureMLError).code ?? (err as AzureMLError).status}), waiting ${wait} ms (attempt ${attempt})`),
      onExhausted: (err, waited) =>
        new JobFailure(`Gave up submitting the Azure ML job after waiting ${Math.round(waited / 1000)} s for quota: ${(err as Error).message}`, 'fine_tuning_quota_exhausted'),
      ...(abortSignal ? { abortSignal } : {}),
    });
  }

  private async follow(name: string, initial: AmlJob, abortSignal: AbortSignal | undefined, progress: Progress): Promise<AmlJob> {
    let job = initial;
    let last = '';
    const created = Date.parse(job.properties.creationContext?.createdAt ?? '');
    const started = Math.min(Date.now(), Number.isNaN(created) ? Date.now() : created);
    for (;;) {
      const status = job.properties.status ?? 'Unknown';
      if (status !== last) {
        progress(STARTED.has(status.toLowerCase()) ? 0.5 : 0.15, `Azure ML job ${name}: ${status}`);
        last = status;
      }
      if (!ACTIVE.has(status.toLowerCase())) break;
      if (Date.now() - started > this.o.maxTrainingTimeInMs) {
        throw new JobFailure(`Azure ML job ${name} did not finish within ${this.o.maxTrainingTimeInMs} ms (last status ${status}).`, 'fine_tuning_timeout');
      }
      await abortableSleep(this.o.pollIntervalInMs, abortSignal);
      const next = await this.o.client.getJob(name, abortSignal ? { abortSignal } : {});
      if (!next) throw new JobFailure(`Azure ML job ${name} disappeared while it ran.`, 'fine_tuning_failed');
      job = next;
    }
    const status = job.properties.status;
    if (status === 'Completed') return job;
    const reason = job.properties.error?.message ?? job.properties.properties?.['azureml.failureReason'] ?? 'no reason given';
    if (status === 'Canceled') throw new JobFailure(`Azure ML job ${name} was canceled.`, 'fine_tuning_cancelled');
    throw new JobFailure(`Azure ML job ${name} ended ${status}: ${reason}`, 'fine_tuning_failed');
  }

  /** The model version the job's output registered, else one registered here from the output. */
  private async register(request: TrainRequest, jobName: string, job: AmlJob, o: OperationOptions) {
    const out = job.properties.outputs?.registered_model;
    const name = out?.assetName ?? this.registeredNameOf(request);
    const version = out?.assetVersion ?? String(parseInt(hash53(request.jobId).slice(-8), 16));
    const existing = await this.o.client.getModelVersion(name, version, o);
    if (!existing) {
      await this.o.client.createModelVersion(name, version, {
        modelType: 'mlflow_model',
        modelUri: `azureml://jobs/${jobName}/outputs/registered_model`,
        tags: { distillery_job: request.jobId, distillery_task: request.task.name },
      }, o);
    }
    return { name, version };
  }

  /** The serving endpoint: the named existing one, or one deployed for this job's model. */
  private async deploy(jobId: string, model: { name: string; version: string }, o: OperationOptions, progress: Progress): Promise<{ name: string; uri: string }> {
    const uriOf = (e: ArmResource<{ inferenceEndpoint?: { uri: string } }> | undefined, name: string) => {
      const uri = e?.properties.inferenceEndpoint?.uri;
      if (!uri) throw new JobFailure(`Serverless endpoint ${name} has no inference URI.`, 'deployment_failed');
      return { name, uri };
    };
    if (this.o.endpointName) {
      const e = await this.o.client.getServerlessEndpoint(this.o.endpointName, o);
      if (!e) throw new JobFailure(`Serverless endpoint ${this.o.endpointName} does not exist in the workspace.`, 'deployment_failed');
      // Called with the model's auth: an endpoint that takes the other kind would answer 401 to every call.
      const mode = e.properties.authMode;
      if (mode && mode.toLowerCase() !== this.o.authMode.toLowerCase()) {
        throw new JobFailure(`Serverless endpoint ${this.o.endpointName} takes ${mode} auth, but model '${this.o.modelRef}' calls it with ${this.o.authMode === 'AAD' ? 'Entra ID' : 'a key'}.`, 'deployment_failed');
      }
      return uriOf(e, this.o.endpointName);
    }
    const name = endpointNameOf(jobId);
    const existing = await this.o.client.getServerlessEndpoint(name, o);
    if (existing?.properties.provisioningState === 'Succeeded') return uriOf(existing, name);
    const ws = await this.o.client.getWorkspace(o);
    const modelId = `azureml://locations/${ws.location}/workspaces/${ws.properties.workspaceId}/models/${model.name}/versions/${model.version}`;
    progress(0.98, `deploying serverless endpoint ${name}`);
    const created = await this.o.client.createServerlessEndpoint(name, { location: ws.location ?? '', properties: { authMode: this.o.authMode, modelSettings: { modelId } } }, o);
    return uriOf(created, name);
  }

  private mapError(err: unknown, abortSignal: AbortSignal | undefined): unknown {
    if (err instanceof DistilleryError) return err;
    if (abortSignal?.aborted) return abortSignal.reason ?? err;
    if (isAbortError(err)) return err;
    if (err instanceof AzureMLError) {
      // 4xx other than throttling: the request or the data is wrong; retrying cannot help.
      if (err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
        return new JobFailure(`Azure ML rejected the request: ${err.message}`, 'fine_tuning_rejected');
      }
      if (err.code === 'OperationFailed' || err.code === 'ProvisioningFailed') return new JobFailure(`Azure ML deployment failed: ${err.message}`, 'deployment_failed');
      return new UpstreamError(this.kind, err.message, { ...(err.status !== undefined ? { upstreamStatus: err.status } : {}), retryable: true, cause: err });
    }
    return err;
  }
}

function trainingTimeOf(job: AmlJob): Record<string, number> {
  const start = Date.parse(job.properties.creationContext?.createdAt ?? '');
  const end = Date.parse(job.properties.properties?.['EndTimeUtc'] ?? '');
  return Number.isNaN(start) || Number.isNaN(end) ? {} : { trainingTimeInMs: end - start };
}

/**
 * Estimated training tokens (≈ 4 characters a token, times epochs: Azure ML bills every epoch) and
 * what they cost, with the hourly hosting rate of the deployment (core/eval/fine-tuning-prices.ts).
 */
function costOf(student: string, request: TrainRequest): Record<string, number> {
  const chars = toChatFineTuningJsonl(request.train).length;
  const estimatedTrainedTokens = Math.ceil(chars / 4) * request.task.distill.fineTuning.n_epochs;
  const price = priceFineTuning(student, estimatedTrainedTokens);
  return { estimatedTrainedTokens, ...(price ?? {}) };
}
