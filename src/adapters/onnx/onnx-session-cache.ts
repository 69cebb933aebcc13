import * as ort from 'onnxruntime-node';

// One InferenceSession per model version per process: creating one parses the graph and copies
// the weights (milliseconds and megabytes), so sessions are created lazily on first use, shared
// by every OnnxStudentModel of the same version, and released when a version is evicted.

export interface OnnxSessionOptions {
  /** Threads inside one operator; 1 suits a tiny model served on a small Function instance. */
  intraOpNumThreads?: number;
}

export class OnnxSessionCache {
  readonly #sessions = new Map<string, Promise<ort.InferenceSession>>();

  /** The session for `key`, created from `model` the first time. */
  get(key: string, model: () => Uint8Array, options: OnnxSessionOptions = {}): Promise<ort.InferenceSession> {
    let session = this.#sessions.get(key);
    if (session === undefined) {
      session = ort.InferenceSession.create(model(), {
        intraOpNumThreads: Math.max(1, Math.floor(options.intraOpNumThreads ?? 1)),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
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
