import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import type { CallOptions } from '../../core/chat/chat-model-types.js';
import { DistilleryError, UpstreamError } from '../../core/errors.js';
import { softmaxWithTemperature } from '../../core/eval/calibration.js';
import type { EncoderReference } from '../../core/tasks/encoder-settings.js';
import { loadedOnnxRuntime } from './onnx-session-cache.js';
import { SentenceEncoder } from './sentence-encoder.js';

// Serving an encoder student: tokenize the text, run the encoder (shared by every version trained
// on it: one session per encoder and process, counted by its users), pool, then the version's own
// head session. OnnxStudentModel hands classification here when its sidecar names an encoder.

interface SharedEncoder {
  users: number;
  encoder: Promise<SentenceEncoder>;
}

const shared = new Map<string, SharedEncoder>();

function keyOf(ref: EncoderReference, threads: number): string {
  return [path.resolve(ref.path), ref.modelFile, ref.modelSha256, ref.tokenizerSha256, ref.pooling, ref.normalize, ref.maxTokens, ref.output, ref.prefix, ref.pairSeparator ?? '', threads].join('|');
}

/** Number of encoder sessions this process holds (tests, diagnostics). */
export const sharedEncoderCount = () => shared.size;

export interface EncoderClassification {
  label: string;
  index: number;
  confidence: number;
  probabilities: Float32Array;
  tokenCount: number;
}

export interface EncoderHeadSession {
  session: () => Promise<Ort.InferenceSession>;
  labels: readonly string[];
  outputs: { logits: string; probabilities: string };
  temperature: number;
}

export class EncoderStudentRunner {
  readonly #ref: EncoderReference;
  readonly #key: string;
  readonly #threads: number;
  #acquired: Promise<SentenceEncoder> | undefined;

  constructor(
    ref: EncoderReference,
    private readonly modelId: string,
    options: { intraOpNumThreads?: number } = {},
  ) {
    this.#ref = ref;
    this.#threads = Math.max(1, Math.floor(options.intraOpNumThreads ?? 1));
    this.#key = keyOf(ref, this.#threads);
  }

  /** The shared encoder, opened (and checked against the sidecar's checksums) by its first user. */
  #encoder(): Promise<SentenceEncoder> {
    if (this.#acquired) return this.#acquired;
    const entry = shared.get(this.#key) ?? this.#open();
    entry.users++;
    const mine = entry.encoder.then((e) => {
      if (e.dimension !== this.#ref.dimension) throw new DistilleryError(`Encoder dimension ${e.dimension} ≠ the head's ${this.#ref.dimension}.`, { status: 500, type: 'server_error', code: 'encoder_mismatch' });
      return e;
    });
    this.#acquired = mine;
    // A failure is not held: the next call opens again.
    mine.catch(() => {
      if (this.#acquired === mine) this.#acquired = undefined;
      entry.users--;
    });
    return mine;
  }

  #open(): SharedEncoder {
    const ref = this.#ref;
    const opened = SentenceEncoder.open(
      { path: ref.path, modelFile: ref.modelFile, tokenizerFile: ref.tokenizerFile },
      { pooling: ref.pooling, normalize: ref.normalize, maxTokens: ref.maxTokens, output: ref.output, prefix: ref.prefix, ...(ref.pairSeparator !== undefined ? { pairSeparator: ref.pairSeparator } : {}) },
      { intraOpNumThreads: this.#threads, expect: ref },
    );
    const created: SharedEncoder = { users: 0, encoder: opened };
    shared.set(this.#key, created);
    // A failed open must not stay cached: the next request tries again (the folder may be deployed later).
    opened.catch(() => {
      if (shared.get(this.#key) === created) shared.delete(this.#key);
    });
    return created;
  }

  async warm(): Promise<void> {
    await this.#encoder();
  }

  async classify(text: string, head: EncoderHeadSession, options: CallOptions = {}): Promise<EncoderClassification> {
    const encoder = await this.#encoder();
    options.abortSignal?.throwIfAborted();
    const encoded = encoder.tokenizer.encode(text);
    let probabilities: Float32Array;
    try {
      const [embedding] = await encoder.embedEncoded([encoded]);
      const session = await head.session();
      const { Tensor } = loadedOnnxRuntime();
      const calibrated = head.temperature !== 1;
      const output = calibrated ? head.outputs.logits : head.outputs.probabilities;
      const out = await session.run({ [this.#ref.headInput]: new Tensor('float32', embedding!, [1, embedding!.length]) }, [output]);
      const data = out[output]!.data as Float32Array;
      probabilities = calibrated ? Float32Array.from(softmaxWithTemperature(data, head.temperature)) : data;
    } catch (err) {
      if (err instanceof DistilleryError) throw err;
      throw new UpstreamError(this.modelId, `onnxruntime failed: ${(err as Error).message}`, { retryable: false, cause: err });
    }
    options.abortSignal?.throwIfAborted();
    let best = 0;
    for (let i = 1; i < probabilities.length; i++) if (probabilities[i]! > probabilities[best]!) best = i;
    return { label: head.labels[best]!, index: best, confidence: probabilities[best]!, probabilities, tokenCount: encoded.ids.length };
  }

  /** Drops this user's hold on the encoder; the last user's release frees its session. */
  async release(): Promise<void> {
    const acquired = this.#acquired;
    if (!acquired) return;
    this.#acquired = undefined;
    const entry = shared.get(this.#key);
    let encoder: SentenceEncoder;
    try {
      encoder = await acquired;
    } catch {
      return;
    }
    if (!entry || --entry.users > 0) return;
    shared.delete(this.#key);
    await encoder.release();
  }
}
