import type { FeaturizerSettings } from '../../core/tasks/classification-task.js';

// The student's parameters, laid out as the ONNX graph consumes them (row-major [in, out] so
// MatMul needs no transpose), and its forward pass in plain TypeScript: the reference the ONNX
// export is checked against and the baseline the serving benchmark compares with.

export interface StudentWeights {
  labels: string[];
  featurizer: FeaturizerSettings;
  embeddingDim: number;
  /** 0 when there is no hidden layer. */
  hiddenSize: number;
  /** [buckets, embeddingDim] */
  embedding: Float32Array;
  /** [embeddingDim, hiddenSize], or null without a hidden layer. */
  hiddenWeight: Float32Array | null;
  hiddenBias: Float32Array | null;
  /** [hiddenSize || embeddingDim, labels] */
  outputWeight: Float32Array;
  outputBias: Float32Array;
}

export interface ForwardResult {
  /** Mean of the embedding rows (zeros for an input with no features). */
  pooled: Float64Array;
  /** Hidden activations after ReLU (the pooled vector itself without a hidden layer). */
  hidden: Float64Array;
  /** Pre-ReLU hidden values, needed by the backward pass. */
  hiddenPre: Float64Array | null;
  logits: Float64Array;
  probabilities: Float64Array;
}

export function softmaxInto(logits: ArrayLike<number>, out: Float64Array, temperature = 1): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < out.length; i++) max = Math.max(max, logits[i]! / temperature);
  let sum = 0;
  for (let i = 0; i < out.length; i++) {
    const e = Math.exp(logits[i]! / temperature - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

export function forwardStudent(w: StudentWeights, ids: ArrayLike<number>): ForwardResult {
  const D = w.embeddingDim;
  const H = w.hiddenSize;
  const C = w.labels.length;
  const pooled = new Float64Array(D);
  const E = w.embedding;
  for (let k = 0; k < ids.length; k++) {
    const base = ids[k]! * D;
    for (let d = 0; d < D; d++) pooled[d]! += E[base + d]!;
  }
  if (ids.length > 0) for (let d = 0; d < D; d++) pooled[d]! /= ids.length;

  let hidden = pooled;
  let hiddenPre: Float64Array | null = null;
  if (H > 0 && w.hiddenWeight && w.hiddenBias) {
    hiddenPre = new Float64Array(H);
    const W1 = w.hiddenWeight;
    for (let j = 0; j < H; j++) hiddenPre[j] = w.hiddenBias[j]!;
    for (let d = 0; d < D; d++) {
      const x = pooled[d]!;
      if (x === 0) continue;
      const row = d * H;
      for (let j = 0; j < H; j++) hiddenPre[j]! += x * W1[row + j]!;
    }
    hidden = new Float64Array(H);
    for (let j = 0; j < H; j++) hidden[j] = hiddenPre[j]! > 0 ? hiddenPre[j]! : 0;
  }

  const In = hidden.length;
  const W2 = w.outputWeight;
  const logits = new Float64Array(C);
  for (let c = 0; c < C; c++) logits[c] = w.outputBias[c]!;
  for (let i = 0; i < In; i++) {
    const x = hidden[i]!;
    if (x === 0) continue;
    const row = i * C;
    for (let c = 0; c < C; c++) logits[c]! += x * W2[row + c]!;
  }
  const probabilities = softmaxInto(logits, new Float64Array(C));
  return { pooled, hidden, hiddenPre, logits, probabilities };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
