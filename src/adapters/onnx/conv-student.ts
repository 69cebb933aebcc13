import type { RandomSource } from '../../core/eval/random.js';
import { featurizerSettingsOf, type StudentHyperparameters } from '../../core/tasks/classification-task.js';
import { kdLoss, type KdTarget } from './kd-loss.js';
import { forwardStudent, type ConvLayer, type StudentWeights } from './student-weights.js';

// The small neural student trained from scratch: hashed word embeddings → 1-D convolutions
// (windows of 2–3 words, a few dozen filters each) → max-pool over positions → ReLU → linear →
// softmax, trained with the same KD loss as the embedding bag by per-example SGD with a linearly
// decaying step. Sparse like the bag: an example only touches the embedding rows of its words and
// the filters' weights at the position each filter's max came from (the max-pool's sub-gradient).
// The forward pass lives in student-weights.ts beside the bag's, the ONNX graph in
// export-student-onnx.ts. Deterministic for a given seed.

export function initConvStudentWeights(labels: readonly string[], hp: StudentHyperparameters, random: RandomSource): StudentWeights {
  const D = hp.conv_embedding_dim;
  const F = hp.conv_filters;
  const C = labels.length;
  const uniform = (n: number, limit: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (random() * 2 - 1) * limit;
    return out;
  };
  // Row `buckets` is the padding row: zero, and never updated.
  const embedding = uniform((hp.buckets + 1) * D, 0.5);
  embedding.fill(0, hp.buckets * D);
  const conv: ConvLayer = {
    windows: [...hp.conv_windows],
    filters: F,
    weights: hp.conv_windows.map((k) => uniform(k * D * F, Math.sqrt(6 / (D * k + F)))),
    biases: hp.conv_windows.map(() => new Float32Array(F)),
  };
  const In = hp.conv_windows.length * F;
  return {
    labels: [...labels],
    featurizer: featurizerSettingsOf({ ...hp, featurizer: 'conv' }),
    embeddingDim: D,
    hiddenSize: 0,
    embedding,
    hiddenWeight: null,
    hiddenBias: null,
    outputWeight: uniform(In * C, Math.sqrt(6 / (In + C))),
    outputBias: new Float32Array(C),
    conv,
  };
}

interface PreparedExample {
  ids: Int32Array;
  target: KdTarget;
}

/** One pass of per-example SGD over `train` (already shuffled); returns the summed loss. */
export class ConvEpochTrainer {
  private readonly totalSteps: number;
  private steps = 0;

  constructor(
    private readonly w: StudentWeights,
    private readonly hp: StudentHyperparameters,
    trainSize: number,
  ) {
    this.totalSteps = hp.epochs * trainSize;
  }

  epoch(train: readonly PreparedExample[]): number {
    let loss = 0;
    for (const ex of train) {
      const lr = this.hp.conv_learning_rate * Math.max(0, 1 - this.steps / this.totalSteps);
      this.steps++;
      loss += this.step(ex, lr);
    }
    return loss;
  }

  private step(ex: PreparedExample, lr: number): number {
    const { w } = this;
    const conv = w.conv!;
    const C = w.labels.length;
    const fwd = forwardStudent(w, ex.ids);
    const r = kdLoss(fwd.logits, ex.target, { temperature: this.hp.temperature, alpha: this.hp.alpha });
    const features = fwd.hidden;
    // Output layer: ∂L/∂features with the weights before this step, then the update.
    const dFeatures = new Float64Array(features.length);
    for (let c = 0; c < C; c++) w.outputBias[c]! -= lr * r.gradient[c]!;
    for (let i = 0; i < features.length; i++) {
      const x = features[i]!;
      const row = i * C;
      let acc = 0;
      for (let c = 0; c < C; c++) {
        const old = w.outputWeight[row + c]!;
        acc += old * r.gradient[c]!;
        w.outputWeight[row + c] = old - lr * x * r.gradient[c]!;
      }
      dFeatures[i] = x > 0 ? acc : 0; // ReLU after the max
    }
    conv.windows.forEach((k, wi) => this.backwardWindow(ex.ids, k, conv.weights[wi]!, conv.biases[wi]!, fwd.argmaxPositions![wi]!, dFeatures, wi * conv.filters, lr));
    return r.loss;
  }

  /** Through the max-pool to the winning window of each filter: its weights, bias and embedding rows. */
  private backwardWindow(ids: Int32Array, k: number, W: Float32Array, b: Float32Array, at: Int32Array, dFeatures: Float64Array, offset: number, lr: number) {
    const D = this.w.embeddingDim;
    const E = this.w.embedding;
    const pad = this.hp.buckets;
    const F = this.w.conv!.filters;
    for (let f = 0; f < F; f++) {
      const g = dFeatures[offset + f]!;
      if (g === 0) continue;
      b[f]! -= lr * g;
      for (let j = 0; j < k; j++) {
        const id = ids[at[f]! + j]!;
        const row = id * D;
        const trainRow = id !== pad;
        for (let d = 0; d < D; d++) {
          const wi = (j * D + d) * F + f;
          const oldW = W[wi]!;
          W[wi] = oldW - lr * g * E[row + d]!;
          if (trainRow) E[row + d]! -= lr * g * oldW;
        }
      }
    }
  }
}
