import type { ArtifactStore, ChatModel, Clock, ModelRegistry, ModelVersion } from '../../core/ports.js';
import { systemClock } from '../../core/ports.js';
import type { StudentResolveOptions, StudentResolver } from '../../core/tasks/student-resolver.js';
import { OnnxStudentModel } from './onnx-student-model.js';
import { defaultSessionCache, type OnnxSessionCache } from './onnx-session-cache.js';

// Resolves a task to the ChatModel of its promoted registry version. The registry is read at most
// once per `refreshIntervalInMs` per task (a Function instance serving thousands of requests a
// second must not query Cosmos DB for each), so a promotion elsewhere is picked up within that
// interval with no restart; `invalidate` makes it immediate in this process. Models are cached
// per version; a version that stops being promoted is released once the next one is ready.

export interface RegistryStudentResolverOptions {
  registry: ModelRegistry;
  artifacts: ArtifactStore;
  /** How stale the promoted version may be; default 5 s. */
  refreshIntervalInMs?: number;
  clock?: Clock;
  intraOpNumThreads?: number;
  sessionCache?: OnnxSessionCache;
  /** Builds the ChatModel of a `remote` version (a fine-tuned deployment behind the OpenAI adapter). */
  remoteModel?: (version: ModelVersion) => ChatModel | undefined;
  /** Load the ONNX session when a version is resolved, not on its first request. Default true. */
  warm?: boolean;
}

interface Entry {
  checkedAt: number;
  versionId: string | undefined;
  model: ChatModel | undefined;
}

export class RegistryStudentResolver implements StudentResolver {
  readonly #o: RegistryStudentResolverOptions;
  readonly #refreshInMs: number;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<ChatModel | undefined>>();
  readonly #models = new Map<string, ChatModel>();

  constructor(options: RegistryStudentResolverOptions) {
    this.#o = options;
    this.#refreshInMs = Math.max(0, options.refreshIntervalInMs ?? 5_000);
    this.#clock = options.clock ?? systemClock;
  }

  async resolve(task: string, options?: StudentResolveOptions): Promise<ChatModel | undefined> {
    const entry = this.#entries.get(task);
    if (entry && this.#clock.now() - entry.checkedAt < this.#refreshInMs) return entry.model;
    // Concurrent requests after expiry share one registry read.
    let pending = this.#inflight.get(task);
    if (!pending) {
      pending = this.#refresh(task, entry, options).finally(() => this.#inflight.delete(task));
      this.#inflight.set(task, pending);
    }
    return pending;
  }

  invalidate(task: string): void {
    this.#entries.delete(task);
  }

  async #refresh(task: string, previous: Entry | undefined, options?: StudentResolveOptions): Promise<ChatModel | undefined> {
    const checkedAt = this.#clock.now();
    const version = await this.#o.registry.getPromoted(task, options);
    let model: ChatModel | undefined;
    if (version !== undefined) {
      model = this.#models.get(version.id) ?? (await this.#load(version, options));
      if (model) this.#models.set(version.id, model);
    }
    this.#entries.set(task, { checkedAt, versionId: version?.id, model });
    if (previous?.versionId !== undefined && previous.versionId !== version?.id) {
      const old = this.#models.get(previous.versionId);
      this.#models.delete(previous.versionId);
      // In-flight requests already hold the old model; its session is freed only after a grace period.
      if (old instanceof OnnxStudentModel) setTimeout(() => void old.release(), 30_000).unref();
    }
    return model;
  }

  async #load(version: ModelVersion, options?: StudentResolveOptions): Promise<ChatModel | undefined> {
    if (version.kind === 'remote') return this.#o.remoteModel?.(version);
    const model = await OnnxStudentModel.fromArtifacts(this.#o.artifacts, version, {
      abortSignal: options?.abortSignal,
      intraOpNumThreads: this.#o.intraOpNumThreads,
      sessionCache: this.#o.sessionCache ?? defaultSessionCache,
    });
    if (model && this.#o.warm !== false) await model.warm();
    return model;
  }
}
