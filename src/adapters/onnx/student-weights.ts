import type { FeaturizerSettings } from '../../core/tasks/classification-task.js';
import type { EncoderReference } from '../../core/tasks/encoder-settings.js';

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
  /**
   * The convolutional student (featurizer `sequence_pad_to`): the embedding then has one more row,
   * the all-zero padding row at index `buckets`, and `outputWeight` is [windows × filters, labels].
   */
  conv?: ConvLayer;
  /**
   * The encoder student (encoder-head.ts): a linear head on the encoder's sentence embedding;
   * `outputWeight` is [embeddingDim, labels], `embedding` is empty and featurizer ids are not used.
   */
  encoder?: EncoderReference;
}

export interface ConvLayer {
  /** Window sizes in words, one filter bank each. */
  windows: number[];
  filters: number;
  /** Per window k: [k, embeddingDim, filters] (the export transposes to ONNX Conv's [filters, embeddingDim, k]). */
  weights: Float32Array[];
  /** Per window: [filters] */
  biases: Float32Array[];
}

export interface ForwardResult {
  /** Mean of the embedding rows (zeros for an input with no features). */
  pooled: Float64Array;
  /** Hidden activations after ReLU (the pooled vector itself without a hidden layer). */
  hidden: Float64Array;
  /** Pre-ReLU hidden values, needed by the backward pass. */
  hiddenPre: Float64Array | null;
  /** Convolutional student: the position each filter's max came from, per window. */
  argmaxPositions?: Int32Array[];
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
  if (w.conv) return forwardConvStudent(w, w.conv, ids);
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

/**
 * Convolutional student: each window k slides over the word embeddings (ids already padded to the
 * widest window), a filter's output at t is bias + Σ_j Σ_d W[f,d,j]·E[ids[t+j],d]; the max over t,
 * through ReLU, is the filter's feature; the features of all windows go to the linear output.
 */
function forwardConvStudent(w: StudentWeights, conv: ConvLayer, ids: ArrayLike<number>): ForwardResult {
  const D = w.embeddingDim;
  const F = conv.filters;
  const C = w.labels.length;
  const E = w.embedding;
  const T = ids.length;
  const features = new Float64Array(conv.windows.length * F);
  const argmaxPositions: Int32Array[] = [];
  conv.windows.forEach((k, wi) => {
    const W = conv.weights[wi]!;
    const b = conv.biases[wi]!;
    const best = new Float64Array(F).fill(-Infinity);
    const at = new Int32Array(F);
    const sum = new Float64Array(F);
    for (let t = 0; t + k <= T; t++) {
      for (let f = 0; f < F; f++) sum[f] = b[f]!;
      for (let j = 0; j < k; j++) {
        const row = ids[t + j]! * D;
        for (let d = 0; d < D; d++) {
          const x = E[row + d]!;
          if (x === 0) continue;
          const base = (j * D + d) * F;
          for (let f = 0; f < F; f++) sum[f]! += x * W[base + f]!;
        }
      }
      for (let f = 0; f < F; f++) {
        if (sum[f]! > best[f]!) {
          best[f] = sum[f]!;
          at[f] = t;
        }
      }
    }
    for (let f = 0; f < F; f++) features[wi * F + f] = best[f]! > 0 ? best[f]! : 0;
    argmaxPositions.push(at);
  });
  const logits = new Float64Array(C);
  for (let c = 0; c < C; c++) logits[c] = w.outputBias[c]!;
  for (let i = 0; i < features.length; i++) {
    const x = features[i]!;
    if (x === 0) continue;
    const row = i * C;
    for (let c = 0; c < C; c++) logits[c]! += x * w.outputWeight[row + c]!;
  }
  const probabilities = softmaxInto(logits, new Float64Array(C));
  return { pooled: features, hidden: features, hiddenPre: null, logits, probabilities, argmaxPositions };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
