import { DistilleryError } from '../../core/errors.js';
import { createRandom, shuffleInPlace } from '../../core/eval/random.js';
import { featurizerSettingsOf, type StudentHyperparameters } from '../../core/tasks/classification-task.js';
import type { EncoderReference, EncoderStudentSettings } from '../../core/tasks/encoder-settings.js';
import { floatTensor, node, valueInfo, STUDENT_OUTPUTS } from './export-student-onnx.js';
import { kdLoss, type KdTarget } from './kd-loss.js';
import { AttributeType, ModelProto, ONNX_IR_VERSION, ONNX_OPSET, TensorDataType } from './onnx-proto.js';
import { argmax, softmaxInto, type StudentWeights } from './student-weights.js';
import { checkLabels, toTarget, type TrainingData, type TrainingMetrics, type TrainOptions, type TrainResult } from './train-student.js';

// The encoder student's head: multinomial logistic regression on the encoder's sentence
// embeddings (computed once, in the training worker, by encoder-candidate.ts), fitted with Adam on
// standardized features and the same KD loss as the other kinds (soft labels when the teacher gave
// them). Standardization is folded into the exported weights, so the head is one MatMul + Add:
//
//   embedding float [batch, dim] → MatMul(W) → Add(b) → logits → Softmax → probabilities
//
// run by onnxruntime after the encoder. Deterministic for a given seed and embeddings.

export const ENCODER_HEAD_INPUT = 'embedding';
const HEAD_BATCH = 32;

/** Embeddings aligned with `data.train` / `data.validation` (undefined where an example cannot train). */
export interface EncoderEmbeddings {
  reference: EncoderReference;
  train: readonly (Float32Array | undefined)[];
  validation?: readonly (Float32Array | undefined)[];
  /** Time spent embedding (part of the candidate's duration). */
  durationInMs: number;
  /** Tokenize + encoder run + pooling of one text, on up to 200 validation texts. */
  p50InMs?: number;
  p99InMs?: number;
}

interface Row {
  x: Float32Array;
  target: KdTarget;
}

/** Logits of the exported head (standardization folded in) on one embedding. */
export function forwardEncoderHead(w: StudentWeights, x: ArrayLike<number>): Float64Array {
  const C = w.labels.length;
  const logits = Float64Array.from(w.outputBias);
  for (let j = 0; j < w.embeddingDim; j++) {
    const v = x[j]!;
    if (v === 0) continue;
    const row = j * C;
    for (let c = 0; c < C; c++) logits[c]! += v * w.outputWeight[row + c]!;
  }
  return logits;
}

function rowsOf(examples: TrainingData['train'], vectors: readonly (Float32Array | undefined)[], index: Map<string, number>, counts: { skipped: number; soft: number }): Row[] {
  const rows: Row[] = [];
  examples.forEach((ex, i) => {
    const target = toTarget(ex, index);
    const x = vectors[i];
    if (!target || !x) {
      counts.skipped++;
      return;
    }
    if (target.teacher) counts.soft++;
    rows.push({ x, target });
  });
  return rows;
}

/** Per-feature mean and standard deviation over the training rows. */
function moments(rows: readonly Row[], D: number): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(D);
  const sq = new Float64Array(D);
  for (const r of rows) for (let d = 0; d < D; d++) mean[d]! += r.x[d]!;
  for (let d = 0; d < D; d++) mean[d]! /= rows.length;
  for (const r of rows) for (let d = 0; d < D; d++) sq[d]! += (r.x[d]! - mean[d]!) ** 2;
  const scale = new Float64Array(D);
  for (let d = 0; d < D; d++) scale[d] = Math.sqrt(sq[d]! / rows.length + 1e-8);
  return { mean, scale };
}

/** The standardized-space parameters W [D, C], b [C] and their Adam moments. */
class AdamHead {
  readonly W: Float64Array;
  readonly b: Float64Array;
  readonly #m: Float64Array;
  readonly #v: Float64Array;
  readonly #g: Float64Array;
  #t = 0;

  constructor(
    readonly D: number,
    readonly C: number,
    private readonly s: EncoderStudentSettings,
  ) {
    this.W = new Float64Array(D * C);
    this.b = new Float64Array(C);
    this.#m = new Float64Array(D * C + C);
    this.#v = new Float64Array(D * C + C);
    this.#g = new Float64Array(D * C + C);
  }

  logits(z: Float64Array): Float64Array {
    const { C } = this;
    const out = Float64Array.from(this.b);
    for (let j = 0; j < this.D; j++) {
      const v = z[j]!;
      const row = j * C;
      for (let c = 0; c < C; c++) out[c]! += v * this.W[row + c]!;
    }
    return out;
  }

  /** Adds one example's gradient (∂L/∂logits = g) into the batch accumulator. */
  accumulate(z: Float64Array, g: Float64Array): void {
    const { C, D } = this;
    const acc = this.#g;
    for (let j = 0; j < D; j++) {
      const v = z[j]!;
      const row = j * C;
      for (let c = 0; c < C; c++) acc[row + c]! += v * g[c]!;
    }
    for (let c = 0; c < C; c++) acc[D * C + c]! += g[c]!;
  }

  /** One Adam step on the mean batch gradient, with decoupled L2 decay on W (AdamW). */
  step(batchSize: number): void {
    const lr = this.s.head_learning_rate;
    const t = ++this.#t;
    const c1 = 1 - 0.9 ** t;
    const c2 = 1 - 0.999 ** t;
    const n = this.W.length;
    for (let i = 0; i < this.#g.length; i++) {
      const g = this.#g[i]! / batchSize;
      this.#m[i] = 0.9 * this.#m[i]! + 0.1 * g;
      this.#v[i] = 0.999 * this.#v[i]! + 0.001 * g * g;
      const update = (lr * (this.#m[i]! / c1)) / (Math.sqrt(this.#v[i]! / c2) + 1e-8);
      if (i < n) this.W[i] = this.W[i]! * (1 - lr * this.s.head_l2) - update;
      else this.b[i - n]! -= update;
    }
    this.#g.fill(0);
  }
}

function standardize(x: Float32Array, mean: Float64Array, scale: Float64Array): Float64Array {
  const z = new Float64Array(mean.length);
  for (let d = 0; d < z.length; d++) z[d] = (x[d]! - mean[d]!) / scale[d]!;
  return z;
}

interface Split {
  train: Row[];
  validation: Row[];
  skipped: number;
  soft: number;
}

/** The same rows, in the same order, and the same carve-out as trainStudent, so every kind meets the same validation split. */
function splitRows(data: TrainingData, e: EncoderEmbeddings, hp: StudentHyperparameters, index: Map<string, number>, random: () => number): Split {
  const counts = { skipped: 0, soft: 0 };
  let train = rowsOf(data.train, e.train, index, counts);
  let validation: Row[];
  if (data.validation !== undefined) validation = rowsOf(data.validation, e.validation ?? [], index, counts);
  else {
    shuffleInPlace(train, random);
    const n = hp.early_stopping_patience > 0 ? Math.floor(train.length * hp.validation_fraction) : 0;
    validation = train.slice(0, n);
    train = train.slice(n);
  }
  if (train.length === 0) throw new DistilleryError('No usable training examples for the encoder head.', { status: 400, type: 'invalid_request_error', code: 'invalid_request', param: 'train' });
  return { train, validation, ...counts };
}

/** Trains the head on precomputed embeddings; the weights carry the encoder reference. */
export function trainEncoderHead(data: TrainingData, hp: StudentHyperparameters, e: EncoderEmbeddings, options: TrainOptions = {}): TrainResult {
  const started = Date.now();
  const s = hp.encoder!;
  const index = checkLabels(data.labels);
  const random = createRandom(hp.seed);
  const split = splitRows(data, e, hp, index, random);
  const D = e.reference.dimension;
  const C = data.labels.length;
  const { mean, scale } = moments(split.train, D);
  const z = (r: Row) => standardize(r.x, mean, scale);
  const train = split.train.map((r) => ({ z: z(r), target: r.target }));
  const validation = split.validation.map((r) => ({ z: z(r), target: r.target }));
  const head = new AdamHead(D, C, s);
  const kd = { temperature: hp.temperature, alpha: hp.alpha };
  const evaluate = () => {
    let correct = 0;
    let loss = 0;
    for (const r of validation) {
      const logits = head.logits(r.z);
      if (argmax(logits) === r.target.label) correct++;
      loss += kdLoss(logits, r.target, kd).loss;
    }
    return validation.length ? { accuracy: correct / validation.length, loss: loss / validation.length } : { accuracy: Number.NaN, loss: Number.NaN };
  };
  let best: { W: Float64Array; b: Float64Array; epoch: number; accuracy: number; loss: number } | undefined;
  let sinceBest = 0;
  let epochsRun = 0;
  let trainLoss = 0;
  const history: TrainingMetrics['history'] = [];
  for (let epoch = 1; epoch <= s.head_epochs; epoch++) {
    if (options.abortSignal?.aborted) throw new DistilleryError('Training was cancelled.', { status: 499, type: 'server_error', code: 'training_aborted' });
    shuffleInPlace(train, random);
    let loss = 0;
    for (let start = 0; start < train.length; start += HEAD_BATCH) {
      const batch = train.slice(start, start + HEAD_BATCH);
      for (const r of batch) {
        const k = kdLoss(head.logits(r.z), r.target, kd);
        loss += k.loss;
        head.accumulate(r.z, k.gradient);
      }
      head.step(batch.length);
    }
    trainLoss = loss / train.length;
    epochsRun = epoch;
    const val = evaluate();
    history.push({ epoch, trainLoss, validationAccuracy: val.accuracy, validationLoss: val.loss });
    options.onProgress?.({ epoch, epochs: s.head_epochs, trainLoss, validationAccuracy: val.accuracy, validationLoss: val.loss, fraction: epoch / s.head_epochs });
    if (validation.length === 0 || hp.early_stopping_patience === 0) continue;
    if (!best || val.accuracy > best.accuracy || (val.accuracy === best.accuracy && val.loss < best.loss)) {
      best = { W: head.W.slice(), b: head.b.slice(), epoch, ...val };
      sinceBest = 0;
    } else if (++sinceBest >= hp.early_stopping_patience) break;
  }
  const final = best ?? { W: head.W, b: head.b, epoch: epochsRun, ...evaluate() };
  return {
    weights: foldedWeights(data.labels, hp, e.reference, final.W, final.b, mean, scale),
    hyperparameters: hp,
    metrics: {
      trainExamples: train.length,
      validationExamples: validation.length,
      skippedExamples: split.skipped,
      softLabelExamples: split.soft,
      epochsRun,
      bestEpoch: final.epoch,
      validationAccuracy: final.accuracy,
      validationLoss: final.loss,
      trainLoss,
      durationInMs: Date.now() - started + e.durationInMs,
      history,
    },
  };
}

/** W' = W / σ (per input row), b' = b − μ·W': the head on raw embeddings. */
function foldedWeights(labels: readonly string[], hp: StudentHyperparameters, reference: EncoderReference, W: Float64Array, b: Float64Array, mean: Float64Array, scale: Float64Array): StudentWeights {
  const C = labels.length;
  const D = mean.length;
  const outputWeight = new Float32Array(D * C);
  const bias = Float64Array.from(b);
  for (let j = 0; j < D; j++) {
    for (let c = 0; c < C; c++) {
      const w = W[j * C + c]! / scale[j]!;
      outputWeight[j * C + c] = w;
      bias[c]! -= mean[j]! * w;
    }
  }
  return {
    labels: [...labels],
    featurizer: featurizerSettingsOf(hp),
    embeddingDim: D,
    hiddenSize: 0,
    embedding: new Float32Array(0),
    hiddenWeight: null,
    hiddenBias: null,
    outputWeight,
    outputBias: Float32Array.from(bias),
    encoder: reference,
  };
}

/** Probabilities of the head on one embedding (the TypeScript reference of the exported graph). */
export function encoderHeadProbabilities(w: StudentWeights, x: ArrayLike<number>): Float64Array {
  return softmaxInto(forwardEncoderHead(w, x), new Float64Array(w.labels.length));
}

/** The head as an ONNX model (opset 17): embedding → MatMul → Add → logits → Softmax. */
export function exportEncoderHeadOnnx(w: StudentWeights, options: { metadata?: Record<string, string> } = {}): Uint8Array {
  const C = w.labels.length;
  const D = w.embeddingDim;
  if (!w.encoder || C < 2 || w.outputWeight.length !== D * C || w.outputBias.length !== C || w.encoder.dimension !== D) {
    throw new DistilleryError('Encoder head weights are inconsistent with their declared shapes.', { status: 400, type: 'invalid_request_error', code: 'invalid_request', param: 'weights' });
  }
  const input = w.encoder.headInput;
  const model = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'distillery',
    producerVersion: '0.1.0',
    docString: 'Distillery encoder student head: sentence embedding → linear → softmax over labels (the encoder runs first, from its own folder).',
    graph: {
      name: 'encoder_head',
      node: [
        node('MatMul', [input, 'head_weight'], ['head_mm']),
        node('Add', ['head_mm', 'head_bias'], [STUDENT_OUTPUTS.logits]),
        node('Softmax', [STUDENT_OUTPUTS.logits], [STUDENT_OUTPUTS.probabilities], [{ name: 'axis', type: AttributeType.INT, i: -1 }]),
      ],
      initializer: [floatTensor('head_weight', [D, C], w.outputWeight), floatTensor('head_bias', [C], w.outputBias)],
      input: [valueInfo(input, TensorDataType.FLOAT, ['batch', D])],
      output: [valueInfo(STUDENT_OUTPUTS.logits, TensorDataType.FLOAT, ['batch', C]), valueInfo(STUDENT_OUTPUTS.probabilities, TensorDataType.FLOAT, ['batch', C])],
    },
    metadataProps: Object.entries({ labels: JSON.stringify(w.labels), encoder: w.encoder.modelSha256, ...(options.metadata ?? {}) }).map(([key, value]) => ({ key, value })),
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`ONNX model message is invalid: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
