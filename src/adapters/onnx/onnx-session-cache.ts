import type * as Ort from 'onnxruntime-node';

// One InferenceSession per model version per process: creating one parses the graph and copies
// the weights (milliseconds and megabytes), so sessions are created lazily on first use, shared
// by every OnnxStudentModel of the same version, and released when a version is evicted.
// onnxruntime-node itself (~70 ms and a native library) is imported by the first session, not when
// this module loads: a process that serves no in-process student never loads it (issue 19).

type OnnxRuntime = typeof Ort;
let runtime: OnnxRuntime | undefined;
let loadingRuntime: Promise<OnnxRuntime> | undefined;

/** onnxruntime-node, imported once on first use (a failed import is tried again next time). */
export function loadOnnxRuntime(): Promise<OnnxRuntime> {
  loadingRuntime ??= import('onnxruntime-node').then(
    (m) => (runtime = m),
    (err: unknown) => {
      loadingRuntime = undefined;
      throw err;
    },
  );
  return loadingRuntime;
}

/** The runtime, for code that holds a session (every session is created after loadOnnxRuntime). */
export function loadedOnnxRuntime(): OnnxRuntime {
  if (!runtime) throw new Error('onnxruntime-node is used before any session was created');
  return runtime;
}

export interface OnnxSessionOptions {
  /** Threads inside one operator; 1 suits a tiny model served on a small Function instance. */
  intraOpNumThreads?: number;
}

export class OnnxSessionCache {
  readonly #sessions = new Map<string, Promise<Ort.InferenceSession>>();

  /** The session for `key`, created from `model` the first time. */
  get(key: string, model: () => Uint8Array, options: OnnxSessionOptions = {}): Promise<Ort.InferenceSession> {
    let session = this.#sessions.get(key);
    if (session === undefined) {
      session = loadOnnxRuntime().then((ort) =>
        ort.InferenceSession.create(model(), {
          intraOpNumThreads: Math.max(1, Math.floor(options.intraOpNumThreads ?? 1)),
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
        }),
      );
      this.#sessions.set(key, session);
      // A failed creation must not poison the key: the next call retries.
      session.catch(() => {
        if (this.#sessions.get(key) === session) this.#sessions.delete(key);
      });
    }
    return session;
  }

  has(key: string): boolean {
    return this.#sessions.has(key);
  }

  get size(): number {
    return this.#sessions.size;
  }

  async evict(key: string): Promise<void> {
    const session = this.#sessions.get(key);
    if (session === undefined) return;
    this.#sessions.delete(key);
    try {
      await (await session).release();
    } catch {
      // Creation failed or already released: nothing to free.
    }
  }

  async clear(): Promise<void> {
    await Promise.all([...this.#sessions.keys()].map((k) => this.evict(k)));
  }
}

/** The process-wide cache used unless a caller brings its own. */
export const defaultSessionCache = new OnnxSessionCache();
