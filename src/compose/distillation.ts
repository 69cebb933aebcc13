import { countCl100kTokens } from '../adapters/shared/cl100k-token-counter.js';
import { azureMLTrainer } from './azure-ml-trainer.js';
import type { Config } from '../config.js';
import { DatasetJobs, STAGE1_CHUNK_KIND } from '../core/distill/dataset-jobs.js';
import { datasetPipeline } from '../core/distill/dataset-pipeline.js';
import { redistillationPipeline } from '../core/distill/redistillation-pipeline.js';
import type { Stage2Deps } from '../core/distill/stage2-steps.js';
import { DistillTriggers } from '../core/distill/distill-triggers.js';
import { createJobMessageDispatcher, type JobMessageDispatcher } from '../core/distill/job-messages.js';
import { JobRunner } from '../core/distill/job-runner.js';
import { createModelPricer } from '../core/eval/model-pricer.js';
import { priceNameOf, type Pricing } from '../core/eval/pricing.js';
import type { Clock } from '../core/ports.js';
import { preflightStudent } from '../core/distill/job-preflight.js';
import { jobRedeliveryDelayInMs } from '../core/distill/job-redelivery.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';
import { withSpan } from '../telemetry.js';
import type { ComposeOptions } from './compose-options.js';
import { previousCronTick } from './cron-schedule.js';
import { lazyTrainer } from './lazy-trainer.js';
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
  const stage2: Stage2Deps = {
    pairs: stores.pairStore,
    artifacts: stores.artifacts,
    registry: stores.registry,
    // Trainer adapters load on first use (job workers): serving never imports them.
    trainers: {
      'local-onnx': lazyTrainer('local-onnx', async () => new (await import('../adapters/onnx/local-onnx-trainer.js')).LocalOnnxTrainer({ artifacts: stores.artifacts }), { preflight: false }),
      'azure-openai': lazyTrainer('azure-openai', async () => (await import('./azure-openai-trainer.js')).azureOpenAITrainer(config, options, log)),
      'azure-ml': azureMLTrainer(config, options, log),
      ...options.trainers,
    },
    loadStudent: deps.models.loadStudent,
    teacherModelId: (task) => task.config.teacher,
    teacher: (task) => deps.models.configuredModel(task.config.teacher),
    now: () => new Date(clock.now()).toISOString(),
    countTokens: countCl100kTokens,
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
