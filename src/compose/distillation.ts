import { CronExpressionParser } from 'cron-parser';
import { getEncoding } from 'js-tiktoken';
import { AzureOpenAIFineTuningTrainer, createFineTuningClient } from '../adapters/openai/azure-openai-fine-tuning-trainer.js';
import { LocalOnnxTrainer } from '../adapters/onnx/local-onnx-trainer.js';
import { azureMLTrainer } from './azure-ml-trainer.js';
import type { Config } from '../config.js';
import { DatasetJobs, STAGE1_CHUNK_KIND } from '../core/distill/dataset-jobs.js';
import { datasetPipeline } from '../core/distill/dataset-pipeline.js';
import { redistillationPipeline } from '../core/distill/redistillation-pipeline.js';
import type { Stage2Deps } from '../core/distill/stage2-steps.js';
import { DistillTriggers } from '../core/distill/distill-triggers.js';
import { createJobMessageDispatcher, type JobMessageDispatcher } from '../core/distill/job-messages.js';
import { JobFailure, JobRunner } from '../core/distill/job-runner.js';
import { createModelPricer } from '../core/eval/model-pricer.js';
import { priceNameOf, type Pricing } from '../core/eval/pricing.js';
import type { Clock, Trainer } from '../core/ports.js';
import type { TaskConfig } from '../core/tasks/task-schema.js';
import { preflightFailed, preflightStudent } from '../core/distill/job-preflight.js';
import { jobRedeliveryDelayInMs } from '../core/distill/job-redelivery.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';
import { withSpan } from '../telemetry.js';
import type { ComposeOptions } from './compose-options.js';
import type { Models } from './models.js';
import type { Stores } from './stores.js';

// The re-distillation loop: trainers, the job runner, dataset jobs (stage 1 over the queue), the
// dispatcher for job-queue messages and the triggers that queue jobs.

export interface Distillation {
  runner: JobRunner;
  datasetJobs: DatasetJobs;
  dispatchJobMessage: JobMessageDispatcher;
  triggers: DistillTriggers;
}

interface DistillationDeps {
  stores: Stores;
  models: Models;
  tasks: TaskCatalog;
  pricing: Pricing;
  clock: Clock;
  log: (m: string) => void;
}

export function createDistillation(config: Config, deps: DistillationDeps, options: ComposeOptions): Distillation {
  const { stores, tasks, clock, log } = deps;
  const pricer = createModelPricer(deps.pricing, (id) => priceNameOf(config.document.models, id));
  const datasetDeps = {
    jobs: stores.jobStore,
    pairs: stores.pairStore,
    artifacts: stores.artifacts,
    queue: stores.jobQueue,
    clock,
    tasks,
    model: deps.models.configuredModel,
    stage1Model: deps.models.unguardedModel,
    maxDeliveries: config.settings.DISTILLERY_JOB_MAX_DELIVERIES,
    price: (modelId: string, hosting: 'remote' | 'in-process', usage: { promptTokens: number; completionTokens: number }, latencyInMs: number) =>
      pricer.priceModel(modelId, hosting, usage, latencyInMs),
    // Submission checks teacher and student target before queueing (core/distill/job-preflight.ts).
    preflight: { model: deps.models.unguardedModel, get trainers() { return stage2.trainers; } },
    log,
  };
  const datasetJobs = new DatasetJobs(datasetDeps);
  // The BPE ranks take ~100 ms to load: only jobs that validate fine-tuning files pay for them.
  let encoding: ReturnType<typeof getEncoding> | undefined;
  const stage2: Stage2Deps = {
    pairs: stores.pairStore,
    artifacts: stores.artifacts,
    registry: stores.registry,
    trainers: { 'local-onnx': new LocalOnnxTrainer({ artifacts: stores.artifacts }), 'azure-openai': azureOpenAITrainer(config, options, log), 'azure-ml': azureMLTrainer(config, options, log), ...options.trainers },
    loadStudent: deps.models.loadStudent,
    teacherModelId: (task) => task.config.teacher,
    now: () => new Date(clock.now()).toISOString(),
    countTokens: (text) => (encoding ??= getEncoding('cl100k_base')).encode(text).length,
  };
  let triggers: DistillTriggers | undefined;
  const runner = new JobRunner({
    jobs: stores.jobStore,
    pipelines: { redistill: redistillationPipeline({ ...stage2, tasks }), dataset: datasetPipeline(stage2, datasetDeps) },
    clock,
    maxDeliveries: config.settings.DISTILLERY_JOB_MAX_DELIVERIES,
    minRetryDelayInMs: options.jobRedeliveryDelayInMs ?? ((n) => jobRedeliveryDelayInMs(n, () => 0)),
    onJobEnded: (job) => triggers!.startPending(job.task).then(() => undefined),
    traceStep: (state, fn) => withSpan(`distillery.job.${state}`, { 'distillery.job.state': state }, () => fn()),
    ...(options.afterJobStep ? { afterStep: options.afterJobStep } : {}),
    ...(options.jobLeaseDurationInMs ? { leaseDurationInMs: options.jobLeaseDurationInMs } : {}),
    log,
  });
  const dispatchJobMessage = createJobMessageDispatcher(runner, { [STAGE1_CHUNK_KIND]: datasetJobs.handleChunk });
  triggers = new DistillTriggers({
    canary: deps.models.canary,
    jobs: stores.jobStore,
    pairs: stores.pairStore,
    queue: stores.jobQueue,
    tasks,
    clock,
    previousCronTick,
    preflight: (task) => preflightStudent({ model: deps.models.configuredModel, trainers: stage2.trainers }, task.config),
  });
  return { runner, datasetJobs, dispatchJobMessage, triggers };
}

/** The schedule tick at or before `now` (NCRONTAB, six fields), or undefined for a bad expression. */
export function previousCronTick(expression: string, now: Date): Date | undefined {
  try {
    return CronExpressionParser.parse(expression, { currentDate: new Date(now.getTime() + 1) }).prev().toDate();
  } catch {
    return undefined;
  }
}

/** Remote fine-tuning: one trainer per configured Azure OpenAI resource (and poll interval) a task names. */
function azureOpenAITrainer(config: Config, options: ComposeOptions, log: (m: string) => void): Trainer {
  const fineTuners = new Map<string, AzureOpenAIFineTuningTrainer>();
  const fineTunerFor = (task: TaskConfig) => {
    const ref = task.distill.fineTuning.modelRef;
    const settings = ref ? config.document.models[ref] : undefined;
    if (!ref || !settings) {
      throw new JobFailure(`Task '${task.name}' uses the azure-openai trainer but distill.fineTuning.modelRef (student.modelRef in a spec) names no configured model.`, 'trainer_unavailable');
    }
    const pollIntervalInMs = task.distill.fineTuning.pollIntervalInMs;
    const key = `${ref}\u0000${pollIntervalInMs}`;
    let trainer = fineTuners.get(key);
    if (!trainer) {
      const client = createFineTuningClient(settings, { env: config.env, ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.credential ? { credential: options.credential } : {}) });
      trainer = new AzureOpenAIFineTuningTrainer({ pollIntervalInMs, client, modelRef: ref, log });
      fineTuners.set(key, trainer);
    }
    return trainer;
  };
  return {
    kind: 'azure-openai',
    train: (request, opts) => fineTunerFor(request.task).train(request, opts),
    preflight: async (task, opts) => {
      let trainer: AzureOpenAIFineTuningTrainer;
      try {
        trainer = fineTunerFor(task);
      } catch (err) {
        throw preflightFailed((err as Error).message, 'student.modelRef', 'trainer_unavailable');
      }
      await trainer.preflight(task, opts);
    },
  };
}
