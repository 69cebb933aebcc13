import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { CronExpressionParser } from 'cron-parser';
import { getEncoding } from 'js-tiktoken';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import { FilePairSpool } from './adapters/local/file-pair-spool.js';
import { FsArtifactStore } from './adapters/local/fs-artifact-store.js';
import { RegistryStudentResolver } from './adapters/onnx/registry-student-resolver.js';
import { OnnxSessionCache } from './adapters/onnx/onnx-session-cache.js';
import { OnnxStudentModel } from './adapters/onnx/onnx-student-model.js';
import { readStudentArtifacts } from './adapters/onnx/student-artifacts.js';
import { AzureOpenAIFineTuningTrainer, createFineTuningClient } from './adapters/openai/azure-openai-fine-tuning-trainer.js';
import { createOpenAIModel } from './adapters/openai/create-openai-model.js';
import { SqliteJobQueue } from './adapters/sqlite/sqlite-job-queue.js';
import { SqliteJobStore } from './adapters/sqlite/sqlite-job-store.js';
import { SqliteModelRegistry } from './adapters/sqlite/sqlite-model-registry.js';
import { SqlitePairStore } from './adapters/sqlite/sqlite-pair-store.js';
import type { Config } from './config.js';
import { applySourceSplits, DatasetJobs, STAGE1_CHUNK_KIND } from './core/distill/dataset-jobs.js';
import { CanaryController } from './core/distill/canary.js';
import { DistillTriggers } from './core/distill/distill-triggers.js';
import { createJobMessageDispatcher, dispatchReceived, type JobMessageDispatcher, type JobMessageHandler } from './core/distill/job-messages.js';
import { JobFailure, JobRunner, type JobRunnerDeps } from './core/distill/job-runner.js';
import { DistilleryError } from './core/errors.js';
import { DEFAULT_PRICING, findModelPrice, parsePricing, priceCall, type Pricing } from './core/eval/pricing.js';
import { PairWriter } from './core/pairs/pair-writer.js';
import type { ArtifactStore, ChatModel, Clock, JobQueue, JobStore, ModelRegistry, ModelVersion, PairStore, Trainer } from './core/ports.js';
import { systemClock } from './core/ports.js';
import { ChatGateway, type ModelResolver, type TaskRuntime } from './core/routing/chat-gateway.js';
import { CircuitBreakerChatModel } from './core/routing/circuit-breaker.js';
import { createLabelParser } from './core/tasks/classification-task.js';
import { recordAgreement, recordRequest, traceChatModel, withSpan } from './telemetry.js';
import type { TaskConfig } from './core/tasks/task-schema.js';
import { createAdminRoutes } from './http/admin-routes.js';
import { createDistillationRoutes } from './http/distillation-routes.js';
import { ApiKeyAuthenticator, generateApiKey, type ApiKeyRecord } from './http/api-key-auth.js';
import { createApp, type AppEnv, type MountedRoutes, type TaskCatalog } from './http/create-app.js';
import { createOpenApiRoutes } from './http/openapi.js';
import { createDashboardRoutes, createReportApiRoutes } from './http/report-routes.js';
import { LocalOnnxTrainer } from './train/local-onnx-trainer.js';

// Builds every dependency from configuration — embedded defaults (SQLite, local queue, local
// folder) or Azure (Cosmos DB, Service Bus, Blob Storage) — and the app on top. The only place
// that knows which adapter implements which port.

export interface ComposeOptions {
  clock?: Clock;
  random?: () => number;
  /** Passed to every OpenAI-SDK client (tests, proxies). */
  fetch?: typeof fetch;
  /** Use this store instead of the configured one (tests, tools). */
  pairStore?: PairStore;
  /** Extra trainers by kind (e.g. a fine-tuning trainer pointed at a test server). */
  trainers?: Record<string, Trainer>;
  /** When no keys are configured, generate one (standalone server). */
  generateKeyIfNone?: boolean;
  /** How stale a task's promoted student may be in this process (default 2 s). */
  studentRefreshInMs?: number;
  credential?: TokenCredential;
  /** Test hook passed to the job runner. */
  afterJobStep?: JobRunnerDeps['afterStep'];
  log?: (message: string) => void;
}

export interface BackgroundWork {
  stop(): Promise<void>;
}

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
  generatedKeys: { tenant: string; key: string; scopes: string[] }[];
  /** Runs the job worker and the trigger scheduler in this process (standalone, demo). */
  startBackgroundWork(options?: { worker?: boolean; scheduler?: boolean }): BackgroundWork;
  close(): Promise<void>;
}

export function taskRuntime(config: TaskConfig): TaskRuntime {
  return config.classification ? { config, parseLabel: createLabelParser(config.classification) } : { config };
}

export function createTaskCatalog(tasks: readonly TaskConfig[]): TaskCatalog {
  const runtimes = new Map(tasks.map((t) => [t.name, taskRuntime(t)] as const));
  return { get: (name) => runtimes.get(name), list: () => [...runtimes.values()] };
}

function credentialFor(clientId: string | undefined, managed: boolean, fallback: TokenCredential | undefined): TokenCredential {
  if (fallback) return fallback;
  if (managed) return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}

const isLoopback = (url: string) => /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/i.test(url);

export async function createDistillery(config: Config, options: ComposeOptions = {}): Promise<Distillery> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const { settings, document } = config;
  const closers: (() => Promise<void> | void)[] = [];

  const dataDir = path.resolve(settings.DISTILLERY_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const sqlitePath = path.join(dataDir, 'distillery.db');

  // --- stores: pairs, jobs, model registry ---------------------------------------------------
  let pairStore: PairStore;
  let jobStore: JobStore;
  let registry: ModelRegistry;
  if (settings.DISTILLERY_STORE === 'cosmos') {
    // Azure SDKs load only when configured: a cold start on embedded defaults never pays for them.
    const [{ ensureCosmosContainers }, { CosmosJobStore }, { CosmosModelRegistry }, { CosmosPairStore }, { createCosmosClient }] = await Promise.all([
      import('./adapters/cosmos/cosmos-containers.js'),
      import('./adapters/cosmos/cosmos-job-store.js'),
      import('./adapters/cosmos/cosmos-model-registry.js'),
      import('./adapters/cosmos/cosmos-pair-store.js'),
      import('./adapters/cosmos/create-cosmos-client.js'),
    ]);
    const endpoint = settings.CosmosDb__accountEndpoint;
    const client = settings.CosmosDb
      ? createCosmosClient({ connectionString: settings.CosmosDb }, { enableEndpointDiscovery: !/127\.0\.0\.1|localhost/.test(settings.CosmosDb) })
      : createCosmosClient(
          { endpoint: endpoint!, credential: credentialFor(settings.CosmosDb__clientId, settings.CosmosDb__credential === 'managedidentity', options.credential) },
          { enableEndpointDiscovery: !isLoopback(endpoint!) },
        );
    const ttl = settings.DISTILLERY_PAIR_TTL_SECONDS;
    const containers = await ensureCosmosContainers(client, {
      databaseId: settings.DISTILLERY_COSMOS_DATABASE,
      ...(ttl > 0 ? { timeToLiveInSeconds: { pairs: ttl } } : {}),
    });
    pairStore = options.pairStore ?? new CosmosPairStore({ pairs: containers.pairs, counters: containers.pairCounters });
    jobStore = new CosmosJobStore({ jobs: containers.jobs });
    registry = new CosmosModelRegistry({ models: containers.models });
    closers.push(() => client.dispose());
  } else {
    pairStore = options.pairStore ?? new SqlitePairStore({ path: sqlitePath });
    const sqliteJobs = new SqliteJobStore({ path: sqlitePath });
    const sqliteRegistry = new SqliteModelRegistry({ path: sqlitePath });
    jobStore = sqliteJobs;
    registry = sqliteRegistry;
    closers.push(() => sqliteJobs.close(), () => sqliteRegistry.close());
  }

  // --- job queue -------------------------------------------------------------------------------
  let jobQueue: JobQueue;
  if (settings.DISTILLERY_QUEUE === 'servicebus') {
    const { ServiceBusJobQueue } = await import('./adapters/service-bus/service-bus-job-queue.js');
    jobQueue = new ServiceBusJobQueue({
      ...(settings.ServiceBusConnection
        ? { connectionString: settings.ServiceBusConnection }
        : {
            fullyQualifiedNamespace: settings.ServiceBusConnection__fullyQualifiedNamespace!,
            credential: credentialFor(settings.ServiceBusConnection__clientId, settings.ServiceBusConnection__credential === 'managedidentity', options.credential),
          }),
      queueName: settings.DISTILLERY_JOBS_QUEUE,
      maxDeliveryCount: settings.DISTILLERY_JOB_MAX_DELIVERIES,
    });
  } else {
    jobQueue = new SqliteJobQueue({
      path: path.join(dataDir, 'queue.db'),
      queueName: settings.DISTILLERY_JOBS_QUEUE,
      maxDeliveryCount: settings.DISTILLERY_JOB_MAX_DELIVERIES,
      // A training step holds the lock for seconds; the queue renews it while the handler runs.
      lockDurationInMs: 30_000,
    });
  }
  closers.push(() => jobQueue.close());

  // --- artifacts ---------------------------------------------------------------------------------
  const artifacts: ArtifactStore =
    settings.DISTILLERY_ARTIFACTS === 'blob'
      ? new (await import('./adapters/blob/blob-artifact-store.js')).BlobArtifactStore({
          containerName: settings.DISTILLERY_ARTIFACT_CONTAINER,
          ...(settings.ArtifactStorage
            ? { connectionString: settings.ArtifactStorage }
            : {
                blobServiceUri: settings.ArtifactStorage__blobServiceUri!,
                credential: credentialFor(settings.ArtifactStorage__clientId, settings.ArtifactStorage__credential === 'managedidentity', options.credential),
              }),
        })
      : new FsArtifactStore({ root: path.join(dataDir, 'artifacts') });

  // --- models --------------------------------------------------------------------------------------
  const modelCache = new Map<string, ChatModel>();
  const configuredModel = (id: string): ChatModel => {
    let m = modelCache.get(id);
    if (!m) {
      const settingsOfModel = document.models[id];
      if (!settingsOfModel) {
        throw new DistilleryError(`Model '${id}' is not configured.`, { status: 500, type: 'server_error', code: 'model_not_configured' });
      }
      // Every remote model gets its own circuit breaker: a dead upstream fails fast.
      m = new CircuitBreakerChatModel(
        createOpenAIModel(id, settingsOfModel, { env: config.env, ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.credential ? { credential: options.credential } : {}) }),
        { clock, ...settingsOfModel.circuitBreaker },
      );
      modelCache.set(id, m);
    }
    return m;
  };
  /** A remote registry version: a fine-tuned deployment behind a configured endpoint. */
  const remoteVersionModel = (version: ModelVersion): ChatModel | undefined => {
    const ref = version.endpoint?.modelRef;
    const base = ref ? document.models[ref] : undefined;
    if (!base || !version.endpoint) return undefined;
    return new CircuitBreakerChatModel(
      createOpenAIModel(version.id, { ...base, model: version.endpoint.model, deployment: version.endpoint.model }, { env: config.env, ...(options.fetch ? { fetch: options.fetch } : {}) }),
      { clock, ...base.circuitBreaker },
    );
  };
  const students = new RegistryStudentResolver({
    registry,
    artifacts,
    clock,
    refreshIntervalInMs: options.studentRefreshInMs ?? 2_000,
    remoteModel: remoteVersionModel,
  });
  // Telemetry spans per arm call (a no-op unless telemetry was started); one wrapper per model.
  const traced = new WeakMap<ChatModel, Partial<Record<'teacher' | 'student', ChatModel>>>();
  const withSpans = (model: ChatModel, arm: 'teacher' | 'student'): ChatModel => {
    const entry = traced.get(model) ?? {};
    traced.set(model, entry);
    return (entry[arm] ??= traceChatModel(model, arm));
  };
  const tasks = createTaskCatalog(document.tasks);
  const canary = new CanaryController({ jobs: jobStore, registry, pairs: pairStore, tasks, clock });
  const models: ModelResolver = {
    canaryShare: (task, student) => canary.shareFor(task.name, student.id),
    teacher: (task) => withSpans(configuredModel(task.teacher), 'teacher'),
    student: async (task, opts) => {
      if (!task.student) return undefined;
      const m = task.student.source === 'model' ? configuredModel(task.student.model) : await students.resolve(task.name, opts);
      return m && withSpans(m, 'student');
    },
  };
  /** Any registry version as a ChatModel (evaluation of candidates, not only the promoted one). */
  const loadStudent = async (version: ModelVersion): Promise<ChatModel> => {
    if (version.kind === 'remote') {
      const m = remoteVersionModel(version);
      if (!m) throw new DistilleryError(`Remote model version ${version.id} names no configured endpoint.`, { status: 500, type: 'server_error', code: 'model_not_configured' });
      return m;
    }
    const a = await readStudentArtifacts(artifacts, version.artifactPath ?? '');
    if (!a) throw new DistilleryError(`Artifacts of ${version.id} are missing.`, { status: 500, type: 'server_error', code: 'artifact_missing' });
    // Its own session cache: releasing an evaluated model never touches the sessions serving traffic.
    return new OnnxStudentModel({ id: version.id, model: a.model, sidecar: a.sidecar, sessionCache: new OnnxSessionCache() });
  };

  const pricing = document.pricing === undefined ? DEFAULT_PRICING : parsePricing(document.pricing);

  // --- serving -------------------------------------------------------------------------------------
  const pairWriter = new PairWriter({
    store: pairStore,
    spool: new FilePairSpool({ dir: settings.DISTILLERY_SPOOL_DIR ?? path.join(dataDir, 'pair-spool') }),
    onError: (err, n) => log(`pair store write of ${n} records failed, spooling and retrying: ${(err as Error).message}`),
  });
  const priced = new Map<string, boolean>();
  // A configured model is priced as `priceAs`, else by the model or deployment it calls upstream.
  const priceKey = (id: string) => {
    const m = document.models[id];
    return m?.priceAs ?? m?.model ?? m?.deployment ?? id;
  };
  const gateway = new ChatGateway({
    models,
    pairs: pairWriter,
    clock,
    random: options.random ?? Math.random,
    price: (model, call) => {
      // Unpriced remote models are reported as unpriced; look them up once, never throw per request.
      let known = priced.get(model.id);
      if (known === undefined) {
        known = model.hosting === 'in-process' || findModelPrice(pricing, priceKey(model.id)) !== undefined;
        priced.set(model.id, known);
      }
      if (!known || (model.hosting === 'remote' && !call.usage)) return undefined;
      return priceCall(pricing, { modelId: priceKey(model.id), hosting: model.hosting, usage: call.usage, latencyInMs: call.latencyInMs });
    },
    onBackgroundError: () => undefined,
    onPair: (pair) => {
      const served = pair.servedArm === 'teacher' ? pair.teacher : pair.student;
      if (served && !served.error) {
        recordRequest({ task: pair.task, arm: pair.servedArm, latencyInMs: served.latencyInMs, ...(served.costUsd !== undefined ? { costUsd: served.costUsd } : {}) });
      }
      if (pair.labels?.teacher != null && pair.labels.student != null) recordAgreement(pair.task, pair.labels.teacher === pair.labels.student ? 1 : 0);
    },
  });

  // --- distillation ----------------------------------------------------------------------------------
  // Remote fine-tuning: one trainer per configured Azure OpenAI resource a task names.
  const fineTuners = new Map<string, AzureOpenAIFineTuningTrainer>();
  const azureOpenAITrainer: Trainer = {
    kind: 'azure-openai',
    train: (request, opts) => {
      const ref = request.task.distill.fineTuning.modelRef;
      const settingsOfModel = ref ? document.models[ref] : undefined;
      if (!ref || !settingsOfModel) {
        throw new JobFailure(`Task '${request.task.name}' uses the azure-openai trainer but distill.fineTuning.modelRef names no configured model.`, 'trainer_unavailable');
      }
      const key = `${ref}\u0000${request.task.distill.fineTuning.pollIntervalInMs}`;
      let trainer = fineTuners.get(key);
      if (!trainer) {
        trainer = new AzureOpenAIFineTuningTrainer({
          pollIntervalInMs: request.task.distill.fineTuning.pollIntervalInMs,
          client: createFineTuningClient(settingsOfModel, { env: config.env, ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.credential ? { credential: options.credential } : {}) }),
          modelRef: ref,
          log,
        });
        fineTuners.set(key, trainer);
      }
      return trainer.train(request, opts);
    },
  };
  // The BPE ranks take ~100 ms to load: only jobs that validate fine-tuning files pay for them.
  let encoding: ReturnType<typeof getEncoding> | undefined;
  const datasetJobs = new DatasetJobs({
    jobs: jobStore,
    pairs: pairStore,
    artifacts,
    queue: jobQueue,
    clock,
    tasks,
    model: configuredModel,
    maxDeliveries: settings.DISTILLERY_JOB_MAX_DELIVERIES,
    price: (modelId, hosting, usage, latencyInMs) => {
      try {
        return priceCall(pricing, { modelId, hosting, usage, latencyInMs });
      } catch {
        return undefined;
      }
    },
    log,
  });
  const runner = new JobRunner({
    jobs: jobStore,
    pairs: pairStore,
    artifacts,
    registry,
    trainers: { 'local-onnx': new LocalOnnxTrainer({ artifacts }), 'azure-openai': azureOpenAITrainer, ...options.trainers },
    tasks,
    loadStudent,
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
  const messageHandlers: Record<string, JobMessageHandler> = { [STAGE1_CHUNK_KIND]: datasetJobs.handleChunk };
  const dispatchJobMessage = createJobMessageDispatcher(runner, messageHandlers);
  const triggers = new DistillTriggers({
    canary,
    jobs: jobStore,
    pairs: pairStore,
    queue: jobQueue,
    tasks,
    clock,
    previousCronTick: (expression, now) => {
      try {
        return CronExpressionParser.parse(expression, { currentDate: new Date(now.getTime() + 1) }).prev().toDate();
      } catch {
        return undefined;
      }
    },
  });

  // --- HTTP ------------------------------------------------------------------------------------------
  const keys: ApiKeyRecord[] = [...config.apiKeys];
  const generatedKeys: Distillery['generatedKeys'] = [];
  if (keys.length === 0 && options.generateKeyIfNone) {
    // The one generated key is the operator's: it sees every tenant.
    const { key, record } = generateApiKey('*', ['chat', 'admin']);
    keys.push(record);
    generatedKeys.push({ tenant: record.tenant, key, scopes: record.scopes });
  }
  const auth = new ApiKeyAuthenticator(keys);
  const reportDeps = { pairStore, tasks, pricing, clock };
  const routes: MountedRoutes[] = [
    {
      path: '/admin',
      scope: 'admin',
      app: createAdminRoutes({ tasks, artifacts, jobs: jobStore, registry, triggers, onModelChange: (task) => students.invalidate(task) }),
    },
    { path: '/admin/reports', scope: 'admin', app: createReportApiRoutes(reportDeps) },
    { path: '/admin/distillations', scope: 'admin', app: createDistillationRoutes({ jobs: jobStore, datasetJobs, triggers }) },
    { path: '', scope: 'public', app: createDashboardRoutes({}) },
    { path: '', scope: 'public', app: createOpenApiRoutes() },
  ];
  const app = createApp({
    gateway,
    tasks,
    models,
    auth,
    clock,
    maxBodyBytes: settings.DISTILLERY_MAX_BODY_BYTES,
    corsOrigins: settings.DISTILLERY_CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    routes,
  });

  const running: BackgroundWork[] = [];
  const startBackgroundWork = (opts: { worker?: boolean; scheduler?: boolean } = {}): BackgroundWork => {
    const stops: (() => Promise<void>)[] = [];
    if (opts.worker ?? true) {
      const sub = jobQueue.subscribe(dispatchReceived(dispatchJobMessage), { maxConcurrentCalls: 2 });
      stops.push(() => sub.close());
    }
    if (opts.scheduler ?? true) {
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      let lastCheck: Date | undefined = new Date(clock.now());
      const expression = settings.DISTILLERY_REDISTILL_SCHEDULE;
      const tick = async () => {
        const now = new Date(clock.now());
        try {
          const results = await triggers.check(lastCheck);
          for (const r of results) if (r.created) log(`queued ${r.job.id} (${r.job.trigger.type}: ${r.job.trigger.detail ?? ''})`);
        } catch (err) {
          log(`trigger check failed: ${(err as Error).message}`);
        }
        lastCheck = now;
        schedule();
      };
      const schedule = () => {
        if (stopped) return;
        const next = CronExpressionParser.parse(expression, { currentDate: new Date(clock.now()) }).next().getTime();
        timer = setTimeout(() => void tick(), Math.max(50, next - clock.now()));
        timer.unref?.();
      };
      schedule();
      stops.push(async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      });
    }
    const work = { stop: async () => void (await Promise.all(stops.map((s) => s()))) };
    running.push(work);
    return work;
  };

  return {
    app,
    config,
    gateway,
    pairStore,
    pairWriter,
    jobStore,
    jobQueue,
    registry,
    artifacts,
    runner,
    datasetJobs,
    dispatchJobMessage,
    triggers,
    tasks,
    models,
    pricing,
    generatedKeys,
    startBackgroundWork,
    async close() {
      for (const w of running) await w.stop();
      await pairWriter.close();
      await pairStore.close();
      for (const c of closers) await c();
    },
  };
}
