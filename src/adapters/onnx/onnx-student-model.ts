import type * as Ort from 'onnxruntime-node';
import type { CallOptions, ChatModelRequest, ChatModelResult, ChatStreamEvent } from '../../core/chat/chat-model-types.js';
import type { ChatMessage } from '../../core/chat/chat-request-schema.js';
import { DistilleryError, invalidRequest, UpstreamError } from '../../core/errors.js';
import type { ArtifactStore, ChatModel, ModelVersion, OperationOptions } from '../../core/ports.js';
import { formatLabel } from '../../core/tasks/classification-task.js';
import { createFeaturizer, type Featurizer } from '../../core/tasks/featurizer.js';
import { softmaxWithTemperature } from '../../core/eval/calibration.js';
import type { StudentCascadeCalibration } from '../../core/routing/policy-schema.js';
import { defaultSessionCache, loadedOnnxRuntime, type OnnxSessionCache, type OnnxSessionOptions } from './onnx-session-cache.js';
import { readStudentArtifacts, type StudentArtifacts, type StudentSidecar } from './student-artifacts.js';
import { EncoderStudentRunner } from './encoder-student-runner.js';
import { countLocalUsage, localTokenCounter, warmCl100k } from '../shared/cl100k-token-counter.js';
import { classifierLogprobs, hasClassifierOptions, shapeClassifierAnswer } from '../../core/chat/classifier-options.js';
import { randomUUID } from 'node:crypto';

// An in-process classifier student behind the ChatModel port: the last user message is
// featurized, run through onnxruntime, and the top label is the answer, written in the task's
// label format, with its probability as `confidence` so a cascade can escalate to the teacher.

export interface OnnxStudentModelOptions extends OnnxSessionOptions {
  /** e.g. `clinc150@3`; also the session cache key. */
  id: string;
  model: Uint8Array;
  sidecar: StudentSidecar;
  sessionCache?: OnnxSessionCache;
}

export interface OnnxClassification {
  label: string;
  /** The label's index in the sidecar's labels (and in `probabilities`). */
  index: number;
  confidence: number;
  probabilities: Float32Array;
  tokenCount: number;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .filter((p): p is { type: 'text'; text: string } => p !== null && typeof p === 'object' && p.type === 'text' && typeof p.text === 'string')
      .map((p) => p.text)
      .join('\n');
  }
  return '';
}

/** The text a classifier student reads: the last user message. */
export function classificationInput(messages: readonly ChatMessage[]): string {
  if (!Array.isArray(messages)) throw invalidRequest('messages must be an array.', 'messages');
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'user') return textOf(m.content);
  }
  throw invalidRequest('A classification student needs a user message to classify.', 'messages');
}

/**
 * `labelProbabilities` built on first read (then kept), from a getter on the prototype: building
 * the 150-key object on every request cost ~15 µs (issue 19), and the gateway keeps only a
 * teacher's distribution in the pair (a training soft label). Read it directly: a spread or a
 * structured clone of the result does not copy it.
 */
class LazyLabelProbabilities {
  #built: Record<string, number> | undefined;
  readonly #labels: readonly string[];
  readonly #probabilities: Float32Array;
  constructor(labels: readonly string[], probabilities: Float32Array) {
    this.#labels = labels;
    this.#probabilities = probabilities;
  }
  get labelProbabilities(): Record<string, number> {
    if (this.#built === undefined) {
      const built: Record<string, number> = {};
      for (let i = 0; i < this.#labels.length; i++) built[this.#labels[i]!] = this.#probabilities[i]!;
      this.#built = built;
    }
    return this.#built;
  }
  set labelProbabilities(value: Record<string, number>) {
    this.#built = value;
  }
}

function withLabelProbabilities(result: ChatModelResult, labels: readonly string[], probabilities: Float32Array): ChatModelResult {
  return Object.assign(new LazyLabelProbabilities(labels, probabilities), result) as ChatModelResult;
}

export class OnnxStudentModel implements ChatModel {
  readonly id: string;
  readonly hosting = 'in-process' as const;
  readonly sidecar: StudentSidecar;
  readonly #model: Uint8Array;
  readonly #featurizer: Featurizer;
  readonly #cache: OnnxSessionCache;
  readonly #sessionOptions: OnnxSessionOptions;
  readonly #cacheKey: string;
  readonly #temperature: number;
  readonly cascadeCalibration?: StudentCascadeCalibration;
  /** Encoder students (sidecar `encoder`): the encoder runs first, then this model's head. */
  readonly #encoder: EncoderStudentRunner | undefined;

  constructor(options: OnnxStudentModelOptions) {
    if (typeof options.id !== 'string' || options.id.length === 0) throw invalidRequest('OnnxStudentModel needs an id.', 'id');
    this.id = options.id;
    this.sidecar = options.sidecar;
    this.#model = options.model;
    this.#featurizer = createFeaturizer(options.sidecar.featurizer);
    this.#cache = options.sessionCache ?? defaultSessionCache;
    this.#sessionOptions = { intraOpNumThreads: options.intraOpNumThreads };
    // Same id with different bytes (a re-trained artifact under a reused id) must not share a session.
    this.#cacheKey = `${options.id}#${options.sidecar.modelSha256}`;
    // The graph's own softmax is uncalibrated; with a fitted T the logits are rescaled here.
    this.#temperature = options.sidecar.calibration?.temperature ?? 1;
    const cascade = options.sidecar.cascade;
    if (cascade) this.cascadeCalibration = { threshold: cascade.threshold, target: cascade.target };
    this.#encoder = options.sidecar.encoder ? new EncoderStudentRunner(options.sidecar.encoder, options.id, this.#sessionOptions) : undefined;
  }

  /** Loads a registry version's artifacts; undefined when they are absent. */
  static async fromArtifacts(
    store: ArtifactStore,
    version: Pick<ModelVersion, 'id' | 'artifactPath'>,
    options: OnnxSessionOptions & OperationOptions & { sessionCache?: OnnxSessionCache } = {},
  ): Promise<OnnxStudentModel | undefined> {
    if (!version.artifactPath) throw invalidRequest(`Model version '${version.id}' has no artifactPath.`, 'artifactPath');
    const artifacts: StudentArtifacts | undefined = await readStudentArtifacts(store, version.artifactPath, options);
    if (artifacts === undefined) return undefined;
    return new OnnxStudentModel({ id: version.id, ...artifacts, ...options });
  }

  get labels(): readonly string[] {
    return this.sidecar.labels;
  }

  /** Creates the session now instead of on the first request (cold start off the request path). */
  async warm(): Promise<void> {
    // The tokenizer too: usage is counted with cl100k_base, like the demo teacher's (see countLocalUsage).
    await Promise.all([this.#session(), warmCl100k(), this.#encoder?.warm()]);
  }

  async release(): Promise<void> {
    await Promise.all([this.#cache.evict(this.#cacheKey), this.#encoder?.release()]);
  }

  async classify(text: string, options: CallOptions = {}): Promise<OnnxClassification> {
    options.abortSignal?.throwIfAborted();
    if (this.#encoder) return this.#encoder.classify(text, { session: () => this.#session(), labels: this.sidecar.labels, outputs: this.sidecar.outputs, temperature: this.#temperature }, options);
    const { ids, tokenCount } = this.#featurizer.featurize(text);
    // An empty bag still needs one (masked-out) slot: zero-length tensors are not worth the risk.
    const n = Math.max(1, ids.length);
    const idData = new BigInt64Array(n);
    const mask = new Float32Array(n);
    for (let i = 0; i < ids.length; i++) {
      idData[i] = BigInt(ids[i]!);
      mask[i] = 1;
    }
    let probabilities: Float32Array;
    try {
      const session = await this.#session();
      const { Tensor } = loadedOnnxRuntime();
      const calibrated = this.#temperature !== 1;
      const output = calibrated ? this.sidecar.outputs.logits : this.sidecar.outputs.probabilities;
      const out = await session.run(
        {
          [this.sidecar.inputs.ids]: new Tensor('int64', idData, [1, n]),
          [this.sidecar.inputs.mask]: new Tensor('float32', mask, [1, n]),
        },
        [output],
      );
      const data = out[output]!.data as Float32Array;
      probabilities = calibrated ? Float32Array.from(softmaxWithTemperature(data, this.#temperature)) : data;
    } catch (err) {
      if (err instanceof DistilleryError) throw err;
      throw new UpstreamError(this.id, `onnxruntime failed: ${(err as Error).message}`, { retryable: false, cause: err });
    }
    options.abortSignal?.throwIfAborted();
    let best = 0;
    for (let i = 1; i < probabilities.length; i++) if (probabilities[i]! > probabilities[best]!) best = i;
    return { label: this.sidecar.labels[best]!, index: best, confidence: probabilities[best]!, probabilities, tokenCount };
  }

  async generate(request: ChatModelRequest, options: CallOptions = {}): Promise<ChatModelResult> {
    const text = classificationInput(request.messages);
    const c = await this.classify(text, options);
    const answer = formatLabel(c.label, this.sidecar.labelFormat);
    // Options (JSON, forced tool calls, stop, max_tokens, logprobs) cost nothing when not asked for.
    if (hasClassifierOptions(request)) return withLabelProbabilities(this.#shaped(request, c, answer), this.sidecar.labels, c.probabilities);
    return withLabelProbabilities(
      {
        model: this.id,
        text: answer,
        finishReason: 'stop',
        // The whole chat counted as a remote model would bill it, not the words the classifier read:
        // the teacher arm reports the same count for the same prompt.
        usage: countLocalUsage(request.messages, answer),
        confidence: c.confidence,
      },
      this.sidecar.labels,
      c.probabilities,
    );
  }

  /** The answer as the request's options ask (see core/chat/classifier-options.ts). */
  #shaped(request: ChatModelRequest, c: OnnxClassification, formatted: string): ChatModelResult {
    const format = this.sidecar.labelFormat;
    const shape = { key: format.type === 'json' ? format.key : 'label', count: localTokenCounter(), toolCallId: `call_${randomUUID().replace(/-/g, '').slice(0, 24)}` };
    const shaped = shapeClassifierAnswer(c.label, request, { ...shape, formatted });
    const result: ChatModelResult = {
      model: this.id,
      text: shaped.text,
      finishReason: shaped.finishReason,
      usage: countLocalUsage(request.messages, shaped.toolCalls?.[0]?.function.arguments ?? shaped.text),
      confidence: c.confidence,
    };
    if (shaped.toolCalls) result.toolCalls = shaped.toolCalls;
    else if (request.logprobs) {
      // The label distribution as logprobs: the answer is one token, the top labels its alternatives.
      const render = (label: string) => shapeClassifierAnswer(label, request, { ...shape, formatted: formatLabel(label, format) }).text;
      result.logprobs = classifierLogprobs(c.probabilities, this.sidecar.labels, c.index, shaped.text, request.top_logprobs ?? 0, render);
    }
    return result;
  }

  async *stream(request: ChatModelRequest, options: CallOptions = {}): AsyncIterable<ChatStreamEvent> {
    const result = await this.generate(request, options);
    if (result.toolCalls) {
      for (const [index, t] of result.toolCalls.entries()) yield { type: 'tool_call_delta', index, id: t.id, name: t.function.name, arguments: t.function.arguments };
    } else yield { type: 'delta', text: result.text };
    if (result.logprobs?.length) yield { type: 'logprobs', logprobs: result.logprobs };
    yield { type: 'finish', finishReason: result.finishReason, usage: result.usage, model: this.id, confidence: result.confidence };
  }

  #session(): Promise<Ort.InferenceSession> {
    return this.#cache.get(this.#cacheKey, () => this.#model, this.#sessionOptions);
  }
}
