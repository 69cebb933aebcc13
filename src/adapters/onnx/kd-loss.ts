import { softmaxInto } from './student-weights.js';

// Knowledge-distillation loss on a classifier's logits z (Hinton et al., 2015):
//
//   L = alpha · CE(y, softmax(z)) + (1 − alpha) · T² · KL(q_T ‖ softmax(z / T))
//
// where y is the teacher's label and q_T its distribution softened at temperature T
// (q_T ∝ q^(1/T), the same as dividing the teacher's logprobs by T). T² keeps the soft term's
// gradient on the same scale as the hard one as T grows. Its gradient on the logits is
//
//   ∂L/∂z = alpha · (softmax(z) − onehot(y)) + (1 − alpha) · T · (softmax(z / T) − q_T)
//
// Without a teacher distribution the loss is plain cross-entropy on the label.

export interface KdTarget {
  /** Index of the teacher's label. */
  label: number;
  /** Teacher probabilities over the labels (unsoftened), when the teacher gave them. */
  teacher?: Float64Array;
  /** `teacher` already softened at the training temperature (softenDistribution), computed once per example instead of once per step. */
  softened?: Float64Array;
}

export interface KdOptions {
  temperature: number;
  alpha: number;
}

export interface KdLoss {
  loss: number;
  /** ∂L/∂z */
  gradient: Float64Array;
}

/** q^(1/T), renormalized; zero-probability labels stay at zero. */
export function softenDistribution(q: ArrayLike<number>, temperature: number): Float64Array {
  const out = new Float64Array(q.length);
  let sum = 0;
  for (let i = 0; i < q.length; i++) {
    const v = q[i]! > 0 ? Math.exp(Math.log(q[i]!) / temperature) : 0;
    out[i] = v;
    sum += v;
  }
  if (sum > 0) for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

const EPS = 1e-12;

export function kdLoss(logits: ArrayLike<number>, target: KdTarget, options: KdOptions): KdLoss {
  const C = logits.length;
  const p = softmaxInto(logits, new Float64Array(C));
  const gradient = new Float64Array(C);
  const hardWeight = target.teacher ? options.alpha : 1;
  let loss = -hardWeight * Math.log(Math.max(p[target.label]!, EPS));
  for (let c = 0; c < C; c++) gradient[c] = hardWeight * (p[c]! - (c === target.label ? 1 : 0));
  if (target.teacher && hardWeight < 1) {
    const T = options.temperature;
    const softWeight = 1 - options.alpha;
    const q = target.softened ?? softenDistribution(target.teacher, T);
    const pT = softmaxInto(logits, new Float64Array(C), T);
    let kl = 0;
    for (let c = 0; c < C; c++) {
      if (q[c]! > 0) kl += q[c]! * (Math.log(q[c]!) - Math.log(Math.max(pT[c]!, EPS)));
      gradient[c]! += softWeight * T * (pT[c]! - q[c]!);
    }
    loss += softWeight * T * T * kl;
  }
  return { loss, gradient };
}
