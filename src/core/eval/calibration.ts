import { invalidRequest } from '../errors.js';

// Calibration of a classifier student: temperature scaling (Guo et al., 2017) fitted on held-out
// logits, and the expected calibration error (ECE) that says how far the reported confidence is
// from the observed accuracy. A cascade compares the student's confidence with a threshold, so an
// overconfident student serves answers it gets wrong; one scalar T fixes most of that without
// changing any prediction (argmax is invariant to T).

/** Softmax of logits / T (numerically stable); a fresh array. */
export function softmaxWithTemperature(logits: ArrayLike<number>, temperature: number): Float64Array {
  const out = new Float64Array(logits.length);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]! / temperature);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i]! / temperature - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Mean negative log-likelihood of the targets under softmax(logits / T). */
export function temperatureNll(logits: readonly ArrayLike<number>[], targets: readonly number[], temperature: number): number {
  let total = 0;
  for (let k = 0; k < logits.length; k++) {
    const z = logits[k]!;
    let max = -Infinity;
    for (let i = 0; i < z.length; i++) max = Math.max(max, z[i]! / temperature);
    let sum = 0;
    for (let i = 0; i < z.length; i++) sum += Math.exp(z[i]! / temperature - max);
    total += Math.log(sum) + max - z[targets[k]!]! / temperature;
  }
  return logits.length ? total / logits.length : 0;
}

export const MIN_TEMPERATURE = 0.05;
export const MAX_TEMPERATURE = 20;

/**
 * The temperature minimising the held-out NLL. The NLL is convex in 1/T, so a golden-section
 * search over log T is exact enough (to ~1e-4 relative) and needs no gradients. With fewer than
 * `minExamples` held-out examples the fit is noise: T = 1.
 */
export function fitTemperature(logits: readonly ArrayLike<number>[], targets: readonly number[], minExamples = 20): number {
  if (logits.length !== targets.length) throw invalidRequest('fitTemperature needs one target per logit vector.', 'targets');
  if (logits.length < minExamples) return 1;
  const f = (logT: number) => temperatureNll(logits, targets, Math.exp(logT));
  let a = Math.log(MIN_TEMPERATURE);
  let b = Math.log(MAX_TEMPERATURE);
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > 1e-4) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  return Math.exp((a + b) / 2);
}

/**
 * Expected calibration error with equal-width confidence bins: Σ_b (n_b / N) · |acc_b − conf_b|.
 * `correct[i]` is whether prediction i was right (here: agreed with the teacher).
 */
export function expectedCalibrationError(confidences: readonly number[], correct: readonly boolean[], bins = 15): number {
  if (confidences.length !== correct.length) throw invalidRequest('ECE needs one outcome per confidence.', 'correct');
  const n = confidences.length;
  if (n === 0) return 0;
  const count = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const acc = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const c = Math.min(1, Math.max(0, confidences[i]!));
    const b = Math.min(bins - 1, Math.floor(c * bins));
    count[b]!++;
    conf[b]! += c;
    if (correct[i]) acc[b]!++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]! > 0) ece += Math.abs(acc[b]! - conf[b]!) / n;
  return ece;
}

export interface TemperatureCalibration {
  temperature: number;
  eceBefore: number;
  eceAfter: number;
  nllBefore: number;
  nllAfter: number;
  /** Mean top-class confidence before and after, next to the accuracy they should match. */
  meanConfidenceBefore: number;
  meanConfidenceAfter: number;
  accuracy: number;
  n: number;
}

/** Fits T on held-out logits and reports reliability before and after. */
export function calibrateTemperature(logits: readonly ArrayLike<number>[], targets: readonly number[]): TemperatureCalibration {
  const temperature = fitTemperature(logits, targets);
  const predicted = logits.map(argmaxOf);
  const correct = predicted.map((p, i) => p === targets[i]);
  const topConfidence = (t: number) => logits.map((z, i) => softmaxWithTemperature(z, t)[predicted[i]!]!);
  const before = topConfidence(1);
  const after = topConfidence(temperature);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  return {
    temperature,
    eceBefore: expectedCalibrationError(before, correct),
    eceAfter: expectedCalibrationError(after, correct),
    nllBefore: temperatureNll(logits, targets, 1),
    nllAfter: temperatureNll(logits, targets, temperature),
    meanConfidenceBefore: mean(before),
    meanConfidenceAfter: mean(after),
    accuracy: mean(correct.map((c) => (c ? 1 : 0))),
    n: logits.length,
  };
}

function argmaxOf(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
