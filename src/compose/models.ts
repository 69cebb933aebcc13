import { OnnxSessionCache } from '../adapters/onnx/onnx-session-cache.js';
import { OnnxStudentModel } from '../adapters/onnx/onnx-student-model.js';
import { RegistryStudentResolver } from '../adapters/onnx/registry-student-resolver.js';
import { readStudentArtifacts } from '../adapters/onnx/student-artifacts.js';
import { createOpenAIModel } from '../adapters/openai/create-openai-model.js';
import type { Config } from '../config.js';
import { CanaryController } from '../core/distill/canary.js';
import { AdaptiveShadowController } from '../core/routing/adaptive-shadow-controller.js';
import { DistilleryError } from '../core/errors.js';
import type { ChatModel, Clock, ModelResolver, ModelVersion } from '../core/ports.js';
import { CircuitBreakerChatModel } from '../core/routing/circuit-breaker.js';
import type { TaskCatalog } from '../core/tasks/task-catalog.js';
import { traceChatModel } from '../telemetry.js';
import type { ComposeOptions } from './compose-options.js';
import type { Stores } from './stores.js';

// Which ChatModel answers for a name: configured remote models (each behind its own circuit
// breaker, so a dead upstream fails fast), registry versions (in-process ONNX or a fine-tuned
// endpoint), and the resolver the gateway asks per request (with the canary's share).

export interface Models {
  /** A model of the configuration document by id (teachers, remote students). */
  configuredModel(id: string): ChatModel;
  /** The same model without the serving circuit breaker: stage 1 of a dataset job pauses by its own policy. */
  unguardedModel(id: string): ChatModel;
  /** Any registry version as a ChatModel (evaluation of candidates, not only the promoted one). */
  loadStudent(version: ModelVersion): Promise<ChatModel>;
  resolver: ModelResolver;
  canary: CanaryController;
  /** Drops a task's cached student (after promote / rollback through the admin API). */
  invalidateStudent(task: string): void;
}

export function createModels(config: Config, stores: Stores, tasks: TaskCatalog, clock: Clock, options: ComposeOptions): Models {
  const { document } = config;
  const clientOptions = { env: config.env, ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.credential ? { credential: options.credential } : {}) };
  const cache = new Map<string, ChatModel>();
  const configuredModel = (id: string): ChatModel => {
    let m = cache.get(id);
    if (!m) {
      const settings = document.models[id];
      if (!settings) throw new DistilleryError(`Model '${id}' is not configured.`, { status: 500, type: 'server_error', code: 'model_not_configured' });
      m = new CircuitBreakerChatModel(createOpenAIModel(id, settings, clientOptions), { clock, ...settings.circuitBreaker, maxInFlight: settings.maxInFlight });
      cache.set(id, m);
    }
    return m;
  };
  const unguarded = new Map<string, ChatModel>();
  const unguardedModel = (id: string): ChatModel => {
    let m = unguarded.get(id);
    if (!m) {
      const settings = document.models[id];
      if (!settings) throw new DistilleryError(`Model '${id}' is not configured.`, { status: 500, type: 'server_error', code: 'model_not_configured' });
      m = createOpenAIModel(id, settings, clientOptions);
      unguarded.set(id, m);
    }
    return m;
  };
  /** A remote registry version: a fine-tuned deployment behind a configured endpoint. */
  const remoteVersionModel = (version: ModelVersion): ChatModel | undefined => {
    const ref = version.endpoint?.modelRef;
    const base = ref ? document.models[ref] : undefined;
    if (!base || !version.endpoint) return undefined;
    // Azure ML serves each fine-tune from an endpoint of its own: its URL comes with the version.
    const at = version.endpoint.baseURL ? { provider: 'openai' as const, baseURL: version.endpoint.baseURL, endpoint: undefined } : {};
    const settings = { ...base, model: version.endpoint.model, deployment: version.endpoint.model, ...at };
    return new CircuitBreakerChatModel(createOpenAIModel(version.id, settings, clientOptions), { clock, ...base.circuitBreaker, maxInFlight: base.maxInFlight });
  };
  const students = new RegistryStudentResolver({
    registry: stores.registry,
    artifacts: stores.artifacts,
    clock,
    refreshIntervalInMs: options.studentRefreshInMs ?? 2_000,
    remoteModel: remoteVersionModel,
  });
  const canary = new CanaryController({ jobs: stores.jobStore, registry: stores.registry, pairs: stores.pairStore, tasks, clock });
  const shadow = new AdaptiveShadowController({ registry: stores.registry, pairs: stores.pairStore, tasks, clock });
  const withSpans = tracedPerArm();
  const resolver: ModelResolver = {
    canaryShare: (task, student) => canary.shareFor(task.name, student.id),
    shadowRate: (task, student) => shadow.rateFor(task, student.id),
    teacher: (task) => withSpans(configuredModel(task.teacher), 'teacher'),
    student: async (task, opts) => {
      if (!task.student) return undefined;
      const m = task.student.source === 'model' ? configuredModel(task.student.model) : await students.resolve(task.name, opts);
      return m && withSpans(m, 'student');
    },
  };
  const loadStudent = async (version: ModelVersion): Promise<ChatModel> => {
    if (version.kind === 'remote') {
      const m = remoteVersionModel(version);
      if (!m) throw new DistilleryError(`Remote model version ${version.id} names no configured endpoint.`, { status: 500, type: 'server_error', code: 'model_not_configured' });
      return m;
    }
    const a = await readStudentArtifacts(stores.artifacts, version.artifactPath ?? '');
    if (!a) throw new DistilleryError(`Artifacts of ${version.id} are missing.`, { status: 500, type: 'server_error', code: 'artifact_missing' });
    // Its own session cache: releasing an evaluated model never touches the sessions serving traffic.
    return new OnnxStudentModel({ id: version.id, model: a.model, sidecar: a.sidecar, sessionCache: new OnnxSessionCache() });
  };
  return { configuredModel, unguardedModel, loadStudent, resolver, canary, invalidateStudent: (task) => students.invalidate(task) };
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
