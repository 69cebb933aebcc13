import { DistilleryError, invalidRequest } from '../../core/errors.js';
import {
  featurizerSettingsOf,
  studentHyperparametersSchema,
  type StudentHyperparameters,
} from '../../core/tasks/classification-task.js';
import { createFeaturizer } from '../../core/tasks/featurizer.js';
import { ConvEpochTrainer, initConvStudentWeights } from './conv-student.js';
import { kdLoss, softenDistribution, type KdTarget } from './kd-loss.js';
import { createRandom, shuffleInPlace, type RandomSource } from '../../core/eval/random.js';
import { argmax, forwardStudent, type ForwardResult, type StudentWeights } from './student-weights.js';

// The local trainer: a fastText-style classifier (embedding bag → optional ReLU layer → softmax,
// or the convolutional student of conv-student.ts when `featurizer` is 'conv')
// fitted by mini-batch SGD with a linearly decaying learning rate, on the teacher's labels and,
// when it gave them, its soft distribution (see kd-loss.ts). Sparse on purpose: an example only
// touches the embedding rows of its own features, which is what makes 15,000 rows train in
// seconds in plain TypeScript. Deterministic for a given seed.

export interface TrainingExample {
  text: string;
  /** The teacher's label (parsed from its answer), or null when it gave none. */
  label: string | null;
  /** The teacher's probabilities over (some of) the labels, e.g. from its logprobs. */
  teacherDistribution?: Record<string, number>;
}

export interface TrainingData {
  labels: readonly string[];
  train: readonly TrainingExample[];
  /** Held-out set for early stopping; carved from `train` (validation_fraction) when absent. */
  validation?: readonly TrainingExample[];
}

export interface TrainingProgress {
  epoch: number;
  epochs: number;
  trainLoss: number;
  validationAccuracy: number;
  validationLoss: number;
  /** 0..1 */
  fraction: number;
}

export interface TrainingMetrics {
  trainExamples: number;
  validationExamples: number;
  /** Examples with no usable label (null label and no distribution, or a label outside the set). */
  skippedExamples: number;
  softLabelExamples: number;
  epochsRun: number;
  bestEpoch: number;
  validationAccuracy: number;
  validationLoss: number;
  trainLoss: number;
  durationInMs: number;
  history: { epoch: number; trainLoss: number; validationAccuracy: number; validationLoss: number }[];
}

export interface TrainResult {
  weights: StudentWeights;
  metrics: TrainingMetrics;
  hyperparameters: StudentHyperparameters;
}

export interface TrainOptions {
  onProgress?: (progress: TrainingProgress) => void;
  abortSignal?: AbortSignal;
}

interface Prepared {
  ids: Int32Array;
  target: KdTarget;
}

/** Gradient accumulators of the dense parameters; embedding gradients are applied sparsely. */
export interface DenseGradients {
  outputWeight: Float64Array;
  outputBias: Float64Array;
  hiddenWeight: Float64Array | null;
  hiddenBias: Float64Array | null;
}

export function createDenseGradients(w: StudentWeights): DenseGradients {
  const In = w.hiddenSize > 0 ? w.hiddenSize : w.embeddingDim;
  return {
    outputWeight: new Float64Array(In * w.labels.length),
    outputBias: new Float64Array(w.labels.length),
    hiddenWeight: w.hiddenSize > 0 ? new Float64Array(w.embeddingDim * w.hiddenSize) : null,
    hiddenBias: w.hiddenSize > 0 ? new Float64Array(w.hiddenSize) : null,
  };
}

/**
 * Back-propagates ∂L/∂logits through one example and returns ∂L/∂pooled (each embedding row of
 * the example gets it divided by the number of features, once per occurrence). With
 * `DenseGradients` the dense parameter gradients are added into them (mini-batches, tests); with
 * `{ step }` the dense parameters are updated in place by −step·gradient in the same pass, each
 * weight read before it is written — exact per-example SGD at a third of the memory traffic.
 */
export function backwardStudent(
  w: StudentWeights,
  fwd: ForwardResult,
  dLogits: ArrayLike<number>,
  sink: DenseGradients | { step: number },
): Float64Array {
  const C = w.labels.length;
  const D = w.embeddingDim;
  const H = w.hiddenSize;
  const grads = 'step' in sink ? undefined : sink;
  const step = 'step' in sink ? sink.step : 0;
  const outputGrads = grads ? { weight: grads.outputWeight, bias: grads.outputBias } : undefined;
  const dHidden = denseBackward(fwd.hidden, fwd.hidden.length, w.outputWeight, w.outputBias, dLogits, C, outputGrads, step);
  if (H === 0 || !w.hiddenWeight || !w.hiddenBias || !fwd.hiddenPre) return dHidden;
  // Through the ReLU: only units that were active pass the gradient on.
  const dPre = new Float64Array(H);
  for (let j = 0; j < H; j++) dPre[j] = fwd.hiddenPre[j]! > 0 ? dHidden[j]! : 0;
  const hiddenGrads = grads?.hiddenBias && grads.hiddenWeight ? { weight: grads.hiddenWeight, bias: grads.hiddenBias } : undefined;
  return denseBackward(fwd.pooled, D, w.hiddenWeight, w.hiddenBias, dPre, H, hiddenGrads, step);
}

/**
 * One dense layer y = x·W + b (W row-major, [inputs × outputs]) backwards: returns ∂L/∂x, always
 * from the weights as they were before this example. With `grads` it adds ∂L/∂W and ∂L/∂b into
 * them; otherwise it updates W and b in place by −step·gradient, each weight read before written.
 */
function denseBackward(
  x: Float64Array,
  inputs: number,
  W: Float32Array,
  b: Float32Array,
  dOut: ArrayLike<number>,
  outputs: number,
  grads: { weight: Float64Array; bias: Float64Array } | undefined,
  step: number,
): Float64Array {
  const dIn = new Float64Array(inputs);
  if (grads) {
    for (let o = 0; o < outputs; o++) grads.bias[o]! += dOut[o]!;
    for (let i = 0; i < inputs; i++) {
      const xi = x[i]!;
      const row = i * outputs;
      let acc = 0;
      for (let o = 0; o < outputs; o++) {
        const g = dOut[o]!;
        grads.weight[row + o]! += xi * g;
        acc += W[row + o]! * g;
      }
      dIn[i] = acc;
    }
    return dIn;
  }
  for (let o = 0; o < outputs; o++) b[o]! -= step * dOut[o]!;
  for (let i = 0; i < inputs; i++) {
    const sx = step * x[i]!;
    const row = i * outputs;
    let acc = 0;
    for (let o = 0; o < outputs; o++) {
      const g = dOut[o]!;
      const old = W[row + o]!;
      acc += old * g;
      W[row + o] = old - sx * g;
    }
    dIn[i] = acc;
  }
  return dIn;
}

export function initStudentWeights(labels: readonly string[], hp: StudentHyperparameters, random: RandomSource): StudentWeights {
  const D = hp.embedding_dim;
  const H = hp.hidden_size;
  const C = labels.length;
  const embedding = new Float32Array(hp.buckets * D);
  // Without a hidden layer, fastText's init: small uniform vectors (the zero output layer carries
  // the first steps). With one, the mean of ~100 tiny vectors would starve the ReLU layer of
  // signal in both directions, so rows start at unit scale.
  const scale = H > 0 ? 1 : 1 / D;
  for (let i = 0; i < embedding.length; i++) embedding[i] = (random() * 2 - 1) * scale;
  const xavier = (fanIn: number, fanOut: number, n: number) => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (random() * 2 - 1) * limit;
    return out;
  };
  return {
    labels: [...labels],
    featurizer: featurizerSettingsOf(hp),
    embeddingDim: D,
    hiddenSize: H,
    embedding,
    hiddenWeight: H > 0 ? xavier(D, H, D * H) : null,
    hiddenBias: H > 0 ? new Float32Array(H) : null,
    // Without a hidden layer the output starts at zero (uniform predictions), as in fastText.
    outputWeight: H > 0 ? xavier(H, C, H * C) : new Float32Array(D * C),
    outputBias: new Float32Array(C),
  };
}

export function parseHyperparameters(input: unknown): StudentHyperparameters {
  const parsed = studentHyperparametersSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidRequest(`Invalid student hyperparameters: ${issue?.message ?? 'invalid'}`, issue?.path.join('.') ?? null);
  }
  return parsed.data;
}

export function checkLabels(labels: readonly string[]): Map<string, number> {
  if (!Array.isArray(labels) || labels.length < 2) throw invalidRequest('A classifier needs at least two labels.', 'labels');
  const index = new Map<string, number>();
  labels.forEach((l, i) => {
    if (typeof l !== 'string' || l.length === 0) throw invalidRequest('Labels must be non-empty strings.', 'labels');
    if (index.has(l)) throw invalidRequest(`Duplicate label '${l}'.`, 'labels');
    index.set(l, i);
  });
  return index;
}

/** The target of one example, or undefined when it cannot train (no label, nothing usable). */
export function toTarget(ex: TrainingExample, index: Map<string, number>): KdTarget | undefined {
  if (ex === null || typeof ex !== 'object' || typeof ex.text !== 'string') {
    throw invalidRequest('Each training example needs a string `text`.', 'examples');
  }
  let teacher: Float64Array | undefined;
  if (ex.teacherDistribution !== undefined) {
    if (ex.teacherDistribution === null || typeof ex.teacherDistribution !== 'object') {
      throw invalidRequest('teacherDistribution must be an object of label → probability.', 'teacherDistribution');
    }
    const q = new Float64Array(index.size);
    let sum = 0;
    for (const [label, p] of Object.entries(ex.teacherDistribution)) {
      if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) {
        throw invalidRequest(`teacherDistribution['${label}'] must be a finite probability ≥ 0.`, 'teacherDistribution');
      }
      const i = index.get(label);
      if (i === undefined) continue; // mass on labels outside the set is dropped, the rest renormalized
      q[i]! += p;
      sum += p;
    }
    if (sum > 0) {
      for (let i = 0; i < q.length; i++) q[i]! /= sum;
      teacher = q;
    }
  }
  const hard = ex.label === null || ex.label === undefined ? undefined : index.get(ex.label);
  if (hard !== undefined) return { label: hard, ...(teacher ? { teacher } : {}) };
  // No usable hard label but a distribution: its argmax stands in for the label.
  if (teacher) return { label: argmax(teacher), teacher };
  return undefined;
}

function evaluate(w: StudentWeights, set: readonly Prepared[], hp: StudentHyperparameters) {
  let correct = 0;
  let loss = 0;
  for (const ex of set) {
    const fwd = forwardStudent(w, ex.ids);
    if (argmax(fwd.probabilities) === ex.target.label) correct++;
    loss += kdLoss(fwd.logits, ex.target, { temperature: hp.temperature, alpha: hp.alpha }).loss;
  }
  return set.length === 0 ? { accuracy: 0, loss: 0 } : { accuracy: correct / set.length, loss: loss / set.length };
}

function snapshot(w: StudentWeights): StudentWeights {
  return {
    ...w,
    labels: [...w.labels],
    embedding: w.embedding.slice(),
    hiddenWeight: w.hiddenWeight?.slice() ?? null,
    hiddenBias: w.hiddenBias?.slice() ?? null,
    outputWeight: w.outputWeight.slice(),
    outputBias: w.outputBias.slice(),
    ...(w.conv ? { conv: { ...w.conv, weights: w.conv.weights.map((a) => a.slice()), biases: w.conv.biases.map((a) => a.slice()) } } : {}),
  };
}

const aborted = () =>
  new DistilleryError('Training was cancelled.', { status: 499, type: 'server_error', code: 'training_aborted' });

interface PreparedSets {
  train: Prepared[];
  validation: Prepared[];
  skipped: number;
  soft: number;
}

/** Featurizes the examples; without a validation set, holds out `validation_fraction` of train (for early stopping). */
function prepareSets(data: TrainingData, hp: StudentHyperparameters, index: Map<string, number>, random: RandomSource): PreparedSets {
  const featurizer = createFeaturizer(featurizerSettingsOf(hp));
  let skipped = 0;
  let soft = 0;
  const prepare = (examples: readonly TrainingExample[]): Prepared[] => {
    const out: Prepared[] = [];
    for (const ex of examples) {
      const target = toTarget(ex, index);
      if (!target) {
        skipped++;
        continue;
      }
      if (target.teacher) {
        soft++;
        // Constant for the whole run: soften once here, not at every step of every epoch.
        target.softened = softenDistribution(target.teacher, hp.temperature);
      }
      out.push({ ids: featurizer.featurize(ex.text).ids, target });
    }
    return out;
  };
  let train = prepare(data.train);
  let validation: Prepared[];
  if (data.validation !== undefined) {
    if (!Array.isArray(data.validation)) throw invalidRequest('`validation` must be an array.', 'validation');
    validation = prepare(data.validation);
  } else {
    shuffleInPlace(train, random);
    const n = hp.early_stopping_patience > 0 ? Math.floor(train.length * hp.validation_fraction) : 0;
    validation = train.slice(0, n);
    train = train.slice(n);
  }
  if (train.length === 0) {
    throw invalidRequest('No usable training examples: every example lacks a label in the task label set.', 'train');
  }
  return { train, validation, skipped, soft };
}

/** One pass of mini-batch SGD over `train` (already shuffled); returns the summed loss. */
class EpochTrainer {
  private readonly grads: ReturnType<typeof createDenseGradients>;
  private readonly pooled: Float64Array[] = [];
  private readonly kdOptions: { temperature: number; alpha: number };
  private readonly totalSteps: number;
  private steps = 0;

  constructor(
    private readonly w: StudentWeights,
    private readonly hp: StudentHyperparameters,
    trainSize: number,
  ) {
    this.grads = createDenseGradients(w);
    this.kdOptions = { temperature: hp.temperature, alpha: hp.alpha };
    this.totalSteps = hp.epochs * Math.ceil(trainSize / hp.batch_size);
  }

  epoch(train: readonly Prepared[]): number {
    let loss = 0;
    for (let start = 0; start < train.length; start += this.hp.batch_size) loss += this.batch(train.slice(start, start + this.hp.batch_size));
    return loss;
  }

  private batch(batch: readonly Prepared[]): number {
    const { w, grads } = this;
    // Linear decay to zero over the planned run (fastText's schedule): big early steps, a calm finish.
    const lr = this.hp.learning_rate * Math.max(0.0, 1 - this.steps / this.totalSteps);
    this.steps++;
    const scale = lr / batch.length;
    const dense = batch.length > 1;
    this.pooled.length = 0;
    if (dense) {
      grads.outputWeight.fill(0);
      grads.outputBias.fill(0);
      grads.hiddenWeight?.fill(0);
      grads.hiddenBias?.fill(0);
    }
    let loss = 0;
    for (const ex of batch) {
      const fwd = forwardStudent(w, ex.ids);
      const r = kdLoss(fwd.logits, ex.target, this.kdOptions);
      loss += r.loss;
      this.pooled.push(backwardStudent(w, fwd, r.gradient, dense ? grads : { step: scale }));
    }
    this.updateEmbeddings(batch, scale);
    if (dense) {
      for (let i = 0; i < w.outputWeight.length; i++) w.outputWeight[i]! -= scale * grads.outputWeight[i]!;
      for (let i = 0; i < w.outputBias.length; i++) w.outputBias[i]! -= scale * grads.outputBias[i]!;
      if (w.hiddenWeight && grads.hiddenWeight) for (let i = 0; i < w.hiddenWeight.length; i++) w.hiddenWeight[i]! -= scale * grads.hiddenWeight[i]!;
      if (w.hiddenBias && grads.hiddenBias) for (let i = 0; i < w.hiddenBias.length; i++) w.hiddenBias[i]! -= scale * grads.hiddenBias[i]!;
    }
    return loss;
  }

  /** Embedding rows: their gradients were computed with the pre-update dense weights. */
  private updateEmbeddings(batch: readonly Prepared[], scale: number) {
    const D = this.hp.embedding_dim;
    for (let b = 0; b < batch.length; b++) {
      const ids = batch[b]!.ids;
      if (ids.length === 0) continue;
      const g = this.pooled[b]!;
      const s = scale / ids.length;
      for (let k = 0; k < ids.length; k++) {
        const base = ids[k]! * D;
        for (let d = 0; d < D; d++) this.w.embedding[base + d]! -= s * g[d]!;
      }
    }
  }
}

const diverged = (epoch: number, loss: number) =>
  new DistilleryError(`Training diverged at epoch ${epoch} (loss ${loss}); lower learning_rate.`, {
    status: 422,
    type: 'invalid_request_error',
    code: 'training_diverged',
    param: 'learning_rate',
  });

export function trainStudent(data: TrainingData, hyperparameters: Partial<StudentHyperparameters> | unknown, options: TrainOptions = {}): TrainResult {
  const started = Date.now();
  const hp = parseHyperparameters(hyperparameters);
  if (data === null || typeof data !== 'object' || !Array.isArray(data.train)) {
    throw invalidRequest('Training data needs a `train` array.', 'train');
  }
  const index = checkLabels(data.labels);
  const random = createRandom(hp.seed);
  const { train, validation, skipped, soft } = prepareSets(data, hp, index, random);
  const conv = hp.featurizer === 'conv';
  const w = conv ? initConvStudentWeights(data.labels, hp, random) : initStudentWeights(data.labels, hp, random);
  const trainer = conv ? new ConvEpochTrainer(w, hp, train.length) : new EpochTrainer(w, hp, train.length);
  let best: { weights: StudentWeights; epoch: number; accuracy: number; loss: number } | undefined;
  let sinceBest = 0;
  const history: TrainingMetrics['history'] = [];
  let epochsRun = 0;
  let lastTrainLoss = 0;

  for (let epoch = 1; epoch <= hp.epochs; epoch++) {
    if (options.abortSignal?.aborted) throw aborted();
    shuffleInPlace(train, random);
    lastTrainLoss = trainer.epoch(train) / train.length;
    epochsRun = epoch;
    if (!Number.isFinite(lastTrainLoss)) throw diverged(epoch, lastTrainLoss);
    const val = validation.length > 0 ? evaluate(w, validation, hp) : { accuracy: Number.NaN, loss: Number.NaN };
    history.push({ epoch, trainLoss: lastTrainLoss, validationAccuracy: val.accuracy, validationLoss: val.loss });
    options.onProgress?.({ epoch, epochs: hp.epochs, trainLoss: lastTrainLoss, validationAccuracy: val.accuracy, validationLoss: val.loss, fraction: epoch / hp.epochs });
    if (validation.length === 0 || hp.early_stopping_patience === 0) continue;
    const improved = !best || val.accuracy > best.accuracy || (val.accuracy === best.accuracy && val.loss < best.loss);
    if (improved) {
      best = { weights: snapshot(w), epoch, accuracy: val.accuracy, loss: val.loss };
      sinceBest = 0;
    } else if (++sinceBest >= hp.early_stopping_patience) {
      break;
    }
  }

  const final = best ?? { weights: w, epoch: epochsRun, ...(validation.length > 0 ? evaluate(w, validation, hp) : { accuracy: Number.NaN, loss: Number.NaN }) };
  return {
    weights: final.weights,
    hyperparameters: hp,
    metrics: {
      trainExamples: train.length,
      validationExamples: validation.length,
      skippedExamples: skipped,
      softLabelExamples: soft,
      epochsRun,
      bestEpoch: final.epoch,
      validationAccuracy: final.accuracy,
      validationLoss: final.loss,
      trainLoss: lastTrainLoss,
      durationInMs: Date.now() - started,
      history,
    },
  };
}
