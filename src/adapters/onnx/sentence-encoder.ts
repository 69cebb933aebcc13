import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { DistilleryError } from '../../core/errors.js';
import type { EncoderReference } from '../../core/tasks/encoder-settings.js';
import { EncoderTokenizer, type EncodedText } from './encoder-tokenizer.js';
import { loadOnnxRuntime } from './onnx-session-cache.js';

// A user-supplied ONNX sentence encoder (a folder exported from Hugging Face: model.onnx +
// tokenizer.json), run by onnxruntime-node: text → tokens → encoder → pooled, optionally
// L2-normalized embedding. Used by the trainer (in its worker thread, batched) and by serving
// (one text per request). The folder is read in streamed chunks while it is hashed, so opening a
// 90 MB encoder never holds the event loop for more than a chunk.

export interface EncoderLocation {
  path: string;
  modelFile: string;
  tokenizerFile: string;
}

export interface EncoderReadSettings {
  pooling: 'mean' | 'cls';
  normalize: boolean;
  maxTokens: number;
  output?: string;
  pairSeparator?: string;
  prefix?: string;
}

export interface OpenEncoderOptions {
  intraOpNumThreads?: number;
  /** Checksums the encoder must have (a trained head is meaningless on another encoder). */
  expect?: Pick<EncoderReference, 'modelSha256' | 'tokenizerSha256'>;
}

const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids', 'position_ids']);

export const encoderUnavailable = (message: string, cause?: unknown) =>
  new DistilleryError(message, { status: 500, type: 'server_error', code: 'encoder_unavailable', ...(cause ? { cause } : {}) });

async function readHashed(file: string, hash = createHash('sha256')): Promise<{ bytes: Buffer; hash: ReturnType<typeof createHash> }> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    chunks.push(chunk as Buffer);
  }
  return { bytes: Buffer.concat(chunks), hash };
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    if (!(await stat(file)).isFile()) return undefined;
  } catch {
    return undefined;
  }
  return (await readHashed(file)).bytes;
}

function parseJson(bytes: Buffer, file: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw encoderUnavailable(`${file} is not JSON.`, err);
  }
}

export class SentenceEncoder {
  readonly tokenizer: EncoderTokenizer;
  readonly #session: Ort.InferenceSession;
  readonly #ort: typeof Ort;
  readonly #settings: EncoderReadSettings;
  readonly #inputs: { name: string; type: 'int64' | 'int32' }[];
  #output = '';
  #pooled = false;
  #dimension = 0;

  private constructor(
    ort: typeof Ort,
    session: Ort.InferenceSession,
    tokenizer: EncoderTokenizer,
    settings: EncoderReadSettings,
    readonly location: EncoderLocation,
    readonly checksums: { modelSha256: string; tokenizerSha256: string; modelSizeInBytes: number },
  ) {
    this.#ort = ort;
    this.#session = session;
    this.tokenizer = tokenizer;
    this.#settings = settings;
    this.#inputs = session.inputMetadata.map((m) => {
      if (!KNOWN_INPUTS.has(m.name)) throw encoderUnavailable(`Encoder input '${m.name}' is not one of ${[...KNOWN_INPUTS].join(', ')}.`);
      const type = m.isTensor ? m.type : 'int64';
      if (type !== 'int64' && type !== 'int32') throw encoderUnavailable(`Encoder input '${m.name}' is ${type}; int64 or int32 expected.`);
      return { name: m.name, type };
    });
    if (!this.#inputs.some((i) => i.name === 'input_ids')) throw encoderUnavailable('The encoder has no input_ids input.');
  }

  /** Reads, checks and loads the encoder folder; probes it once to learn its output and dimension. */
  static async open(location: EncoderLocation, settings: EncoderReadSettings, options: OpenEncoderOptions = {}): Promise<SentenceEncoder> {
    const dir = path.resolve(location.path);
    const modelPath = path.join(dir, location.modelFile);
    const tokenizerPath = path.join(dir, location.tokenizerFile);
    const [model, tokenizerBytes, configBytes] = await Promise.all([
      readHashed(modelPath).catch((err: unknown) => {
        throw encoderUnavailable(`Encoder model '${modelPath}' cannot be read: ${(err as Error).message}`, err);
      }),
      readOptional(tokenizerPath),
      readOptional(path.join(dir, 'tokenizer_config.json')),
    ]);
    if (!tokenizerBytes) throw encoderUnavailable(`Encoder tokenizer '${tokenizerPath}' is missing.`);
    const tokenizerHash = createHash('sha256').update(tokenizerBytes);
    if (configBytes) tokenizerHash.update('\0').update(configBytes);
    const checksums = { modelSha256: model.hash.digest('hex'), tokenizerSha256: tokenizerHash.digest('hex'), modelSizeInBytes: model.bytes.byteLength };
    if (options.expect && (options.expect.modelSha256 !== checksums.modelSha256 || options.expect.tokenizerSha256 !== checksums.tokenizerSha256)) {
      throw new DistilleryError(`The encoder in '${dir}' is not the one this student was trained on (checksum mismatch).`, {
        status: 500,
        type: 'server_error',
        code: 'encoder_mismatch',
      });
    }
    const tokenizer = new EncoderTokenizer(parseJson(tokenizerBytes, tokenizerPath), configBytes ? parseJson(configBytes, 'tokenizer_config.json') : {}, settings);
    const ort = await loadOnnxRuntime();
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(model.bytes, {
        intraOpNumThreads: Math.max(1, Math.floor(options.intraOpNumThreads ?? 1)),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw encoderUnavailable(`Encoder model '${modelPath}' is not a valid ONNX model: ${(err as Error).message}`, err);
    }
    const encoder = new SentenceEncoder(ort, session, tokenizer, settings, location, checksums);
    try {
      await encoder.#probe();
    } catch (err) {
      await session.release();
      throw err instanceof DistilleryError ? err : encoderUnavailable(`Encoder '${dir}' failed on a probe input: ${(err as Error).message}`, err);
    }
    return encoder;
  }

  get dimension(): number {
    return this.#dimension;
  }

  /** The sidecar's reference to this encoder, for a head whose graph input is `headInput`. */
  reference(headInput: string): EncoderReference {
    const s = this.#settings;
    return {
      ...this.location,
      ...this.checksums,
      output: this.#output,
      pooled: this.#pooled,
      pooling: s.pooling,
      normalize: s.normalize,
      maxTokens: s.maxTokens,
      prefix: s.prefix ?? '',
      dimension: this.#dimension,
      ...(s.pairSeparator !== undefined ? { pairSeparator: s.pairSeparator } : {}),
      headInput,
    };
  }

  async #probe(): Promise<void> {
    const names = this.#session.outputNames;
    const wanted = this.#settings.output;
    if (wanted !== undefined && !names.includes(wanted)) throw encoderUnavailable(`The encoder has no output '${wanted}' (it has ${names.join(', ')}).`);
    this.#output = wanted ?? (names.includes('sentence_embedding') ? 'sentence_embedding' : names.includes('last_hidden_state') ? 'last_hidden_state' : names[0]!);
    const out = await this.#run([this.tokenizer.encode('probe')]);
    if (out.dims.length !== 2 && out.dims.length !== 3) throw encoderUnavailable(`Encoder output '${this.#output}' has shape [${out.dims.join(', ')}]; [batch, dim] or [batch, seq, dim] expected.`);
    this.#pooled = out.dims.length === 2;
    this.#dimension = out.dims[out.dims.length - 1]!;
    if (this.#dimension <= 0) throw encoderUnavailable('The encoder output has no features.');
  }

  async #run(batch: readonly EncodedText[]): Promise<{ data: Float32Array; dims: readonly number[]; length: number }> {
    const B = batch.length;
    const L = Math.max(1, ...batch.map((e) => e.ids.length));
    const feeds: Record<string, Ort.Tensor> = {};
    for (const input of this.#inputs) {
      const data = input.type === 'int64' ? new BigInt64Array(B * L) : new Int32Array(B * L);
      const put = (i: number, v: number) => (data instanceof BigInt64Array ? (data[i] = BigInt(v)) : (data[i] = v));
      batch.forEach((e, b) => {
        for (let t = 0; t < e.ids.length; t++) {
          const v = input.name === 'input_ids' ? e.ids[t]! : input.name === 'attention_mask' ? 1 : input.name === 'token_type_ids' ? e.typeIds[t]! : t;
          put(b * L + t, v);
        }
      });
      feeds[input.name] = new this.#ort.Tensor(input.type, data, [B, L]);
    }
    const result = await this.#session.run(feeds, [this.#output]);
    const tensor = result[this.#output]!;
    if (tensor.type !== 'float32') throw encoderUnavailable(`Encoder output '${this.#output}' is ${tensor.type}; float32 expected.`);
    return { data: tensor.data as Float32Array, dims: tensor.dims, length: L };
  }

  /** Sentence embeddings of already tokenized inputs, in order (one encoder run, padded to the longest). */
  async embedEncoded(batch: readonly EncodedText[]): Promise<Float32Array[]> {
    if (batch.length === 0) return [];
    const { data, length: L } = await this.#run(batch);
    const D = this.#dimension;
    return batch.map((e, b) => {
      const v = new Float32Array(D);
      if (this.#pooled) v.set(data.subarray(b * D, (b + 1) * D));
      else if (this.#settings.pooling === 'cls') v.set(data.subarray(b * L * D, b * L * D + D));
      else {
        const n = Math.max(1, e.ids.length);
        for (let t = 0; t < e.ids.length; t++) {
          const base = (b * L + t) * D;
          for (let d = 0; d < D; d++) v[d]! += data[base + d]!;
        }
        for (let d = 0; d < D; d++) v[d]! /= n;
      }
      if (this.#settings.normalize) {
        let norm = 0;
        for (let d = 0; d < D; d++) norm += v[d]! * v[d]!;
        norm = Math.sqrt(norm);
        if (norm > 0) for (let d = 0; d < D; d++) v[d]! /= norm;
      }
      return v;
    });
  }

  async embed(text: string): Promise<Float32Array> {
    return (await this.embedEncoded([this.tokenizer.encode(text)]))[0]!;
  }

  /**
   * Embeddings of many texts, aligned with them: sorted by token count into batches of
   * `batchSize` (little padding), one encoder run each. `shouldStop` is asked between batches.
   */
  async embedTexts(texts: readonly string[], batchSize: number, shouldStop?: () => boolean): Promise<Float32Array[] | undefined> {
    const encoded = texts.map((t) => this.tokenizer.encode(t));
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a]!.ids.length - encoded[b]!.ids.length || a - b);
    const out: Float32Array[] = new Array<Float32Array>(texts.length);
    for (let start = 0; start < order.length; start += batchSize) {
      if (shouldStop?.()) return undefined;
      const idx = order.slice(start, start + batchSize);
      const vectors = await this.embedEncoded(idx.map((i) => encoded[i]!));
      idx.forEach((i, k) => (out[i] = vectors[k]!));
    }
    return out;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}
