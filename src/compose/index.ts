import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import type { Config } from '../config.js';
import type { DatasetJobs } from '../core/distill/dataset-jobs.js';
import type { DistillTriggers } from '../core/distill/distill-triggers.js';
import type { JobMessageDispatcher } from '../core/distill/job-messages.js';
import type { JobRunner } from '../core/distill/job-runner.js';
import { DEFAULT_PRICING, parsePricing, type Pricing } from '../core/eval/pricing.js';
import type { PairWriter } from '../core/pairs/pair-writer.js';
import { systemClock, type ArtifactStore, type JobQueue, type JobStore, type ModelRegistry, type ModelResolver, type PairStore } from '../core/ports.js';
import type { ChatGateway } from '../core/routing/chat-gateway.js';
import { createTaskCatalog, type TaskCatalog } from '../core/tasks/task-catalog.js';
import type { AppEnv } from '../http/create-app.js';
import { startBackgroundWork, type BackgroundWork } from './background-work.js';
import type { ComposeOptions } from './compose-options.js';
import { createDistillation } from './distillation.js';
import { createHttp, type GeneratedKey } from './http.js';
import { createModels } from './models.js';
import { createServing } from './serving.js';
import { createStores } from './stores.js';

// The composition root: builds every dependency from configuration and the app on top. The only
// place that knows which adapter implements which port; each concern is one file beside this one.

export type { BackgroundWork } from './background-work.js';
export type { ComposeOptions } from './compose-options.js';

export interface Distillery {
  app: Hono<AppEnv>;
  config: Config;
  gateway: ChatGateway;
  pairStore: PairStore;
  pairWriter: PairWriter;
  jobStore: JobStore;
  jobQueue: JobQueue;
  registry: ModelRegistry;
  artifacts: ArtifactStore;
  runner: JobRunner;
  /** Distillation jobs from a dataset: spec preparation, stage-1 chunks, reports. */
  datasetJobs: DatasetJobs;
  /** Handles one jobs-queue message body, whichever host received it. */
  dispatchJobMessage: JobMessageDispatcher;
  triggers: DistillTriggers;
  tasks: TaskCatalog;
  models: ModelResolver;
  pricing: Pricing;
  /** Keys generated at start (standalone server without configured keys), in clear, to print once. */
  generatedKeys: GeneratedKey[];
  /**
   * Loads each task's promoted registry student in the background (serving instances call it at
   * start, unawaited: a request that needs a student still being loaded waits for that load only).
   * Never rejects; failures go to `log` (default: the compose log).
   */
  preloadStudents(options?: { log?: (message: string) => void }): Promise<void>;
  /** Runs the job worker and the trigger scheduler in this process (standalone, demo). */
  startBackgroundWork(options?: { worker?: boolean; scheduler?: boolean }): BackgroundWork;
  close(): Promise<void>;
}

export async function createDistillery(config: Config, options: ComposeOptions = {}): Promise<Distillery> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const dataDir = path.resolve(config.settings.DISTILLERY_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });

  const stores = await createStores(config, dataDir, options);
  const tasks = createTaskCatalog(config.document.tasks);
  const pricing = config.document.pricing === undefined ? DEFAULT_PRICING : parsePricing(config.document.pricing);
  const models = createModels(config, stores, tasks, clock, options);
  const serving = createServing(config, { pairStore: stores.pairStore, models, pricing, dataDir, clock, log }, options);
  const distillation = createDistillation(config, { stores, models, tasks, pricing, clock, log }, options);
  const { app, generatedKeys } = createHttp(config, { stores, models, serving, distillation, tasks, pricing, clock }, options);

  const running: BackgroundWork[] = [];
  const backgroundDeps = { ...stores, ...distillation, clock, schedule: config.settings.DISTILLERY_REDISTILL_SCHEDULE, log };
  return {
    app,
    config,
    gateway: serving.gateway,
    pairStore: stores.pairStore,
    pairWriter: serving.pairWriter,
    jobStore: stores.jobStore,
    jobQueue: stores.jobQueue,
    registry: stores.registry,
    artifacts: stores.artifacts,
    ...distillation,
    tasks,
    models: models.resolver,
    pricing,
    generatedKeys,
    preloadStudents: (opts) => models.preloadStudents(opts?.log ?? log),
    startBackgroundWork: (opts) => {
      const work = startBackgroundWork(backgroundDeps, opts);
      running.push(work);
      return work;
    },
    async close() {
      for (const w of running) await w.stop();
      await serving.pairWriter.close();
      await stores.pairStore.close();
      for (const c of stores.closers) await c();
    },
  };
}
