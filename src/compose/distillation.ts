import { CronExpressionParser } from 'cron-parser';
import { getEncoding } from 'js-tiktoken';
import { AzureOpenAIFineTuningTrainer, createFineTuningClient } from '../adapters/openai/azure-openai-fine-tuning-trainer.js';
import { LocalOnnxTrainer } from '../adapters/onnx/local-onnx-trainer.js';
import type { Config } from '../config.js';
import { applySourceSplits, DatasetJobs, STAGE1_CHUNK_KIND } from '../core/distill/dataset-jobs.js';
import { DistillTriggers } from '../core/distill/distill-triggers.js';
import { createJobMessageDispatcher, type JobMessageDispatcher } from '../core/distill/job-messages.js';
import { JobFailure, JobRunner } from '../core/distill/job-runner.js';
import { createModelPricer } from '../core/eval/model-pricer.js';
import { priceNameOf, type Pricing } from '../core/eval/pricing.js';
import type { Clock, Trainer } from '../core/ports.js';
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
  const datasetJobs = new DatasetJobs({
    jobs: stores.jobStore,
    pairs: stores.pairStore,
    artifacts: stores.artifacts,
    queue: stores.jobQueue,
    clock,
    tasks,
    model: deps.models.configuredModel,
    maxDeliveries: config.settings.DISTILLERY_JOB_MAX_DELIVERIES,
    price: (modelId, hosting, usage, latencyInMs) => pricer.priceModel(modelId, hosting, usage, latencyInMs),
    log,
  });
  // The BPE ranks take ~100 ms to load: only jobs that validate fine-tuning files pay for them.
  let encoding: ReturnType<typeof getEncoding> | undefined;
  const runner = new JobRunner({
    jobs: stores.jobStore,
    pairs: stores.pairStore,
    artifacts: stores.artifacts,
    registry: stores.registry,
    trainers: { 'local-onnx': new LocalOnnxTrainer({ artifacts: stores.artifacts }), 'azure-openai': azureOpenAITrainer(config, options, log), ...options.trainers },
    tasks,
    loadStudent: deps.models.loadStudent,
    teacherModelId: (task) => task.config.teacher,
    clock,
    countTokens: (text) => (encoding ??= getEncoding('cl100k_base')).encode(text).length,
    traceStep: (state, fn) => withSpan(`distillery.job.${state}`, { 'distillery.job.state': state }, () => fn()),
    ...(options.afterJobStep ? { afterStep: options.afterJobStep } : {}),
    generate: (job, context) => datasetJobs.generate(job, context),
    taskOf: (job) => datasetJobs.taskOf(job),
    applySourceSplits: (job, dataset, splits) =>
      applySourceSplits(dataset, splits as ReadonlyMap<string, 'train' | 'validation'>, datasetJobs.taskOf(job)?.config.distill.dataset.validationShare ?? 0.1),
    report: (job, input) => datasetJobs.report(job, input),
    log,
  });
  const dispatchJobMessage = createJobMessageDispatcher(runner, { [STAGE1_CHUNK_KIND]: datasetJobs.handleChunk });
  const triggers = new DistillTriggers({
    canary: deps.models.canary,
    jobs: stores.jobStore,
    pairs: stores.pairStore,
    queue: stores.jobQueue,
    tasks,
    clock,
    previousCronTick,
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
  return {
    kind: 'azure-openai',
    train: (request, opts) => {
      const ref = request.task.distill.fineTuning.modelRef;
      const settings = ref ? config.document.models[ref] : undefined;
      if (!ref || !settings) {
        throw new JobFailure(`Task '${request.task.name}' uses the azure-openai trainer but distill.fineTuning.modelRef names no configured model.`, 'trainer_unavailable');
      }
      const pollIntervalInMs = request.task.distill.fineTuning.pollIntervalInMs;
      const key = `${ref}\u0000${pollIntervalInMs}`;
      let trainer = fineTuners.get(key);
      if (!trainer) {
        const client = createFineTuningClient(settings, { env: config.env, ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.credential ? { credential: options.credential } : {}) });
        trainer = new AzureOpenAIFineTuningTrainer({ pollIntervalInMs, client, modelRef: ref, log });
        fineTuners.set(key, trainer);
      }
      return trainer.train(request, opts);
    },
  };
}
