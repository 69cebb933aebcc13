import type { RegistryStudentResolver } from '../adapters/onnx/registry-student-resolver.js';
import { createOpenAIModel } from '../adapters/openai/create-openai-model.js';
import type { Config } from '../config.js';
import { modelSettingsSchema } from '../core/chat/model-settings.js';
import { CanaryController } from '../core/distill/canary.js';
import { createCascadeMonitor, type CascadeMonitor } from '../core/routing/online-cascade-threshold.js';
import { DistilleryError } from '../core/errors.js';
import type { ChatModel, Clock, ModelResolver, ModelVersion } from '../core/ports.js';
import { CircuitBreakerChatModel } from '../core/routing/circuit-breaker.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';
import { traceChatModel } from '../telemetry-ports.js';
import type { ComposeOptions } from './compose-options.js';
import type { Stores } from './stores.js';

// Which ChatModel answers for a name: configured remote models (each behind its own circuit
// breaker, so a dead upstream fails fast), registry versions (in-process ONNX or a fine-tuned
// endpoint), and the resolver the gateway asks per request (with the canary's share).
// The ONNX adapter (onnxruntime, protobufjs) is imported when a registry student is first resolved
// or preloaded, never at cold start: a task without one never loads it (issue 19).

export interface Models {
  /** A model of the configuration document by id (teachers, remote students). */
  configuredModel(id: string): ChatModel;
  /** The same model without the serving circuit breaker: stage 1 of a dataset job pauses by its own policy. */
  unguardedModel(id: string): ChatModel;
  /** Any registry version as a ChatModel (evaluation of candidates, not only the promoted one). */
  loadStudent(version: ModelVersion): Promise<ChatModel>;
  resolver: ModelResolver;
  canary: CanaryController;
  /** The serving versions' shadow sample, adaptive shadow rate and online cascade τ (reports read it). */
  cascade: CascadeMonitor;
  /** Drops a task's cached student (after promote / rollback through the admin API). */
  invalidateStudent(task: string): void;
  /**
   * Loads the promoted registry student of every task that has one, one task after the other, so
   * that the first request does not pay for it (issue 21). Never rejects: a failure is logged and
   * the first request that needs the student loads it as before.
   */
  preloadStudents(log: (message: string) => void): Promise<void>;
}

export function createModels(config: Config, stores: Stores, tasks: TaskCatalog, clock: Clock, options: ComposeOptions): Models {
  const { document } = config;
  const clientOptions = { env: config.env, ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.credential ? { credential: options.credential } : {}) };
  const configuredModel = modelCache(document, (id, settings) =>
    new CircuitBreakerChatModel(createOpenAIModel(id, settings, clientOptions), { clock, ...settings.circuitBreaker, maxInFlight: settings.maxInFlight }),
  );
  const unguardedModel = modelCache(document, (id, settings) => createOpenAIModel(id, settings, clientOptions));
  const remoteVersionModel = remoteVersionModels(document, clientOptions, clock);
  const students = lazyStudentResolver({
    registry: stores.registry,
    artifacts: stores.artifacts,
    clock,
    refreshIntervalInMs: options.studentRefreshInMs ?? 2_000,
    remoteModel: remoteVersionModel,
  });
  const canary = new CanaryController({ jobs: stores.jobStore, registry: stores.registry, pairs: stores.pairStore, tasks, clock });
  const cascade = createCascadeMonitor({ registry: stores.registry, pairs: stores.pairStore, tasks, clock });
  const withSpans = tracedPerArm();
  const resolver: ModelResolver = {
    canaryShare: (task, student) => canary.shareFor(task.name, student.id),
    shadowRate: (task, student) => cascade.shadow.rateFor(task, student.id),
    cascadeThreshold: (task, student) => cascade.thresholds.thresholdFor(task, student),
    teacher: (task) => withSpans(configuredModel(task.teacher), 'teacher'),
    student: async (task, opts) => {
      if (!task.student) return undefined;
      const m = task.student.source === 'model' ? configuredModel(task.student.model) : await (await students.get()).resolve(task.name, opts);
      return m && withSpans(m, 'student');
    },
  };
  const loadStudent = (version: ModelVersion) => loadStudentVersion(version, stores.artifacts, remoteVersionModel);
  const preloadStudents = (log: (message: string) => void) => preloadRegistryStudents(tasks, clock, students.get, log);
  // Nothing to invalidate before the resolver exists: it starts with no cached entry.
  const invalidateStudent = (task: string) => students.loaded()?.invalidate(task);
  return { configuredModel, unguardedModel, loadStudent, resolver, canary, cascade, invalidateStudent, preloadStudents };
}

type ClientOptions = Parameters<typeof createOpenAIModel>[2];
type ModelSettings = Config['document']['models'][string];

/** One model per configured id, built on first use and kept. */
function modelCache(document: Config['document'], build: (id: string, settings: ModelSettings) => ChatModel): (id: string) => ChatModel {
  const cache = new Map<string, ChatModel>();
  return (id) => {
    let m = cache.get(id);
    if (!m) {
      const settings = document.models[id];
      if (!settings) throw new DistilleryError(`Model '${id}' is not configured.`, { status: 500, type: 'server_error', code: 'model_not_configured' });
      m = build(id, settings);
      cache.set(id, m);
    }
    return m;
  };
}

/** A remote registry version: a fine-tuned deployment behind a configured endpoint. */
function remoteVersionModels(document: Config['document'], clientOptions: ClientOptions, clock: Clock) {
  return (version: ModelVersion): ChatModel | undefined => {
    const ref = version.endpoint?.modelRef;
    const base = ref ? document.models[ref] : localRuntimeSettings(version);
    if (!base || !version.endpoint) return undefined;
    // Azure ML serves each fine-tune from an endpoint of its own: its URL comes with the version.
    const at = version.endpoint.baseURL ? { provider: 'openai' as const, baseURL: version.endpoint.baseURL, endpoint: undefined } : {};
    const settings = { ...base, model: version.endpoint.model, deployment: version.endpoint.model, ...at };
    return new CircuitBreakerChatModel(createOpenAIModel(version.id, settings, clientOptions), { clock, ...base.circuitBreaker, maxInFlight: base.maxInFlight });
  };
}

/**
 * A version registered with its own URL and no configured model (`distillery models register`: a
 * local runtime such as Ollama or vLLM): default settings, its key from the named setting or none.
 */
function localRuntimeSettings(version: ModelVersion): ModelSettings | undefined {
  const e = version.endpoint;
  if (!e?.baseURL) return undefined;
  return modelSettingsSchema.parse({ provider: 'openai', baseURL: e.baseURL, model: e.model, ...(e.apiKeySetting ? { auth: 'key', apiKeySetting: e.apiKeySetting } : { auth: 'none' }) });
}

type StudentResolverOptions = ConstructorParameters<typeof RegistryStudentResolver>[0];

/** The registry-student resolver, its module imported on first use (see the top); a failed import is tried again. */
function lazyStudentResolver(resolverOptions: StudentResolverOptions) {
  let studentsLoading: Promise<RegistryStudentResolver> | undefined;
  let studentsLoaded: RegistryStudentResolver | undefined;
  const get = () =>
    (studentsLoading ??= import('../adapters/onnx/registry-student-resolver.js').then(({ RegistryStudentResolver }) => {
      studentsLoaded = new RegistryStudentResolver(resolverOptions);
      return studentsLoaded;
    }).catch((err: unknown) => {
      studentsLoading = undefined;
      throw err;
    }));
  return { get, loaded: () => studentsLoaded };
}

async function loadStudentVersion(version: ModelVersion, artifacts: Stores['artifacts'], remoteVersionModel: (version: ModelVersion) => ChatModel | undefined): Promise<ChatModel> {
  if (version.kind === 'remote') {
    const m = remoteVersionModel(version);
    if (!m) throw new DistilleryError(`Remote model version ${version.id} names no configured endpoint.`, { status: 500, type: 'server_error', code: 'model_not_configured' });
    return m;
  }
  const [{ readStudentArtifacts }, { OnnxStudentModel }, { OnnxSessionCache }] = await Promise.all([
    import('../adapters/onnx/student-artifacts.js'),
    import('../adapters/onnx/onnx-student-model.js'),
    import('../adapters/onnx/onnx-session-cache.js'),
  ]);
  const a = await readStudentArtifacts(artifacts, version.artifactPath ?? '');
  if (!a) throw new DistilleryError(`Artifacts of ${version.id} are missing.`, { status: 500, type: 'server_error', code: 'artifact_missing' });
  // Its own session cache: releasing an evaluated model never touches the sessions serving traffic.
  return new OnnxStudentModel({ id: version.id, model: a.model, sidecar: a.sidecar, sessionCache: new OnnxSessionCache() });
}

async function preloadRegistryStudents(tasks: TaskCatalog, clock: Clock, students: () => Promise<RegistryStudentResolver>, log: (message: string) => void): Promise<void> {
  for (const task of tasks.list()) {
    if (task.config.student?.source !== 'registry') continue;
    const startedAt = clock.now();
    try {
      const model = await (await students()).resolve(task.config.name);
      if (model) log(`student ${model.id} of task '${task.config.name}' preloaded in ${Math.round(clock.now() - startedAt)} ms`);
    } catch (err) {
      log(`student preload of task '${task.config.name}' failed (${err instanceof Error ? err.message : String(err)}); its first student request loads it`);
    }
  }
}

/** Telemetry spans per arm call (a no-op unless telemetry was started); one wrapper per model and arm. */
function tracedPerArm() {
  const traced = new WeakMap<ChatModel, Partial<Record<'teacher' | 'student', ChatModel>>>();
  return (model: ChatModel, arm: 'teacher' | 'student'): ChatModel => {
    const entry = traced.get(model) ?? {};
    traced.set(model, entry);
    return (entry[arm] ??= traceChatModel(model, arm));
  };
}
