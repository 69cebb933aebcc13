import { invalidRequest } from '../errors.js';
import { createRandom, randomInt } from './random.js';

// The statistics that tell a real difference from noise: seeded paired bootstrap intervals,
// McNemar's exact test for paired accuracy, a one-sided non-inferiority test with margin δ, Wilson
// intervals for proportions, and minimum-sample guards that answer `insufficient_data` rather than
// conclude from too little evidence.

export const DEFAULT_MIN_SAMPLES = 30;
export const DEFAULT_RESAMPLES = 1000;
export const DEFAULT_SEED = 20240601;

export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
  confidence: number;
}

export interface BootstrapOptions {
  resamples?: number;
  confidence?: number;
  seed?: number | string;
}

export interface BootstrapInterval extends Interval {
  standardError: number;
  resamples: number;
  method: 'percentile';
}

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) throw invalidRequest('confidence must be in (0, 1).', 'confidence', 'invalid_statistics_input');
}

function checkNumbers(values: readonly number[], param: string): void {
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw invalidRequest(`${param} must be an array of finite numbers.`, param, 'invalid_statistics_input');
  }
}

/** Linear-interpolation quantile (type 7, numpy's default) of sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const frac = pos - lo;
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return values.length > 0 ? s / values.length : Number.NaN;
}

/**
 * Percentile bootstrap CI of any statistic of `n` items, given as a function of resampled indices.
 * A paired difference is the statistic `metricA(indices) − metricB(indices)`: both arms are
 * resampled on the same examples, which is what makes the interval paired.
 */
export function bootstrapInterval(
  n: number,
  statistic: (indices: Uint32Array) => number,
  options: BootstrapOptions = {},
): BootstrapInterval {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const confidence = options.confidence ?? 0.95;
  checkConfidence(confidence);
  if (!Number.isInteger(n) || n < 1) throw invalidRequest('bootstrap needs at least one item.', 'n', 'invalid_statistics_input');
  const identity = Uint32Array.from({ length: n }, (_, i) => i);
  const estimate = statistic(identity);
  const random = createRandom(options.seed ?? DEFAULT_SEED);
  const draws = new Float64Array(resamples);
  const indices = new Uint32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = randomInt(random, n);
    draws[r] = statistic(indices);
  }
  draws.sort();
  const alpha = 1 - confidence;
  const m = mean(draws);
  let sq = 0;
  for (const d of draws) sq += (d - m) ** 2;
  return {
    estimate,
    lower: quantileSorted(draws, alpha / 2),
    upper: quantileSorted(draws, 1 - alpha / 2),
    confidence,
    standardError: Math.sqrt(sq / Math.max(1, resamples - 1)),
    resamples,
    method: 'percentile',
  };
}

/** CI of the mean of per-item scores. */
export function bootstrapMean(values: readonly number[], options: BootstrapOptions = {}): BootstrapInterval {
  checkNumbers(values, 'values');
  return bootstrapInterval(values.length, (idx) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += values[idx[i]!]!;
    return s / idx.length;
  }, options);
}

/** Paired CI of mean(a) − mean(b) over the same items. */
export function pairedBootstrapDifference(a: readonly number[], b: readonly number[], options: BootstrapOptions = {}): BootstrapInterval {
  checkNumbers(a, 'a');
  checkNumbers(b, 'b');
  if (a.length !== b.length) throw invalidRequest('Paired samples must have the same length.', 'b', 'invalid_statistics_input');
  const diff = a.map((x, i) => x - b[i]!);
  return bootstrapMean(diff, options);
}

// ---------------------------------------------------------------------------------------------
// Exact binomial tests

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/** Lanczos approximation (g = 7), accurate to ~1e-15 for the arguments used here. */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let sum = 0;
  for (let i = 0; i <= k; i++) sum += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
  return Math.min(1, sum);
}

export type Verdict = 'significant' | 'not_significant' | 'insufficient_data';

export interface McNemarResult {
  /** Pairs where only A was right. */
  b: number;
  /** Pairs where only B was right. */
  c: number;
  discordant: number;
  /** Exact two-sided p: 2·P(X ≤ min(b, c)), X ~ Bin(b + c, ½), capped at 1. */
  pValue: number;
  alpha: number;
  verdict: Verdict;
  /** Which arm is better when significant. */
  favours?: 'a' | 'b';
}

/**
 * McNemar's exact test on paired correctness. `minDiscordant` guards against concluding from a
 * handful of disagreements (an exact p can be small with very few discordant pairs only in the
 * extreme; below the guard we refuse to conclude).
 */
export function mcnemarExact(b: number, c: number, options: { alpha?: number; minDiscordant?: number } = {}): McNemarResult {
  if (![b, c].every((x) => Number.isInteger(x) && x >= 0)) {
    throw invalidRequest('Discordant counts must be non-negative integers.', 'b', 'invalid_statistics_input');
  }
  const alpha = options.alpha ?? 0.05;
  const n = b + c;
  const pValue = n === 0 ? 1 : Math.min(1, 2 * binomialCdf(Math.min(b, c), n, 0.5));
  const minDiscordant = options.minDiscordant ?? 6;
  let verdict: Verdict = pValue < alpha ? 'significant' : 'not_significant';
  if (n < minDiscordant) verdict = 'insufficient_data';
  return { b, c, discordant: n, pValue, alpha, verdict, ...(verdict === 'significant' ? { favours: b > c ? 'a' : 'b' } : {}) };
}

/** McNemar from paired booleans (A correct, B correct). */
export function mcnemarFromPairs(aCorrect: readonly boolean[], bCorrect: readonly boolean[], options: { alpha?: number; minDiscordant?: number } = {}): McNemarResult {
  if (aCorrect.length !== bCorrect.length) throw invalidRequest('Paired samples must have the same length.', 'bCorrect', 'invalid_statistics_input');
  let b = 0;
  let c = 0;
  for (let i = 0; i < aCorrect.length; i++) {
    if (aCorrect[i] && !bCorrect[i]) b++;
    else if (!aCorrect[i] && bCorrect[i]) c++;
  }
  return mcnemarExact(b, c, options);
}

// ---------------------------------------------------------------------------------------------
// Normal quantile and Wilson intervals

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw invalidRequest('p must be in (0, 1).', 'p', 'invalid_statistics_input');
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  let x: number;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - pl) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  return x;
}

/** Wilson score interval for a proportion. */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  if (!Number.isInteger(successes) || !Number.isInteger(n) || successes < 0 || n < 0 || successes > n) {
    throw invalidRequest('Wilson interval needs integer 0 ≤ successes ≤ n.', 'successes', 'invalid_statistics_input');
  }
  if (n === 0) return { estimate: Number.NaN, lower: 0, upper: 1, confidence };
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half), confidence };
}

/** Normal-approximation CI of a mean from streaming moments (for bounded-memory online reports). */
export function meanInterval(count: number, meanValue: number, variance: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  if (count === 0) return { estimate: Number.NaN, lower: Number.NaN, upper: Number.NaN, confidence };
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const half = count > 1 ? z * Math.sqrt(variance / count) : Number.POSITIVE_INFINITY;
  return { estimate: meanValue, lower: meanValue - half, upper: meanValue + half, confidence };
}

// ---------------------------------------------------------------------------------------------
// Non-inferiority

export type NonInferiorityVerdict = 'non_inferior' | 'inferior' | 'inconclusive' | 'insufficient_data';

export interface NonInferiorityResult {
  verdict: NonInferiorityVerdict;
  /** Mean of student − teacher. */
  meanDifference: number;
  /** One-sided (1 − α) lower bound of the mean difference. */
  lowerBound: number;
  /** One-sided (1 − α) upper bound of the mean difference. */
  upperBound: number;
  margin: number;
  alpha: number;
  n: number;
  minSamples: number;
}

/**
 * Tests "student ≥ teacher − δ" on paired per-item differences (student − teacher), one-sided at
 * level α with a seeded bootstrap: non-inferior when the lower bound exceeds −δ; inferior when
 * even the upper bound is below −δ; otherwise inconclusive. Fewer than `minSamples` pairs:
 * insufficient_data, whatever the numbers say.
 */
export function nonInferiorityTest(
  differences: readonly number[],
  options: { margin: number; alpha?: number; minSamples?: number } & Omit<BootstrapOptions, 'confidence'>,
): NonInferiorityResult {
  checkNumbers(differences, 'differences');
  if (!(options.margin >= 0)) throw invalidRequest('The non-inferiority margin δ must be ≥ 0.', 'margin', 'invalid_statistics_input');
  const alpha = options.alpha ?? 0.05;
  const minSamples = options.minSamples ?? DEFAULT_MIN_SAMPLES;
  const n = differences.length;
  const meanDifference = n > 0 ? mean(differences) : Number.NaN;
  const base = { meanDifference, margin: options.margin, alpha, n, minSamples };
  if (n < minSamples) return { verdict: 'insufficient_data', lowerBound: Number.NaN, upperBound: Number.NaN, ...base };
  // A two-sided (1 − 2α) interval has one-sided (1 − α) bounds at each end.
  const ci = bootstrapMean(differences, { resamples: options.resamples, seed: options.seed, confidence: 1 - 2 * alpha });
  const verdict: NonInferiorityVerdict =
    ci.lower > -options.margin ? 'non_inferior' : ci.upper < -options.margin ? 'inferior' : 'inconclusive';
  return { verdict, lowerBound: ci.lower, upperBound: ci.upper, ...base };
}

/** A bootstrap difference CI with the minimum-sample guard applied. */
export interface GuardedDifference {
  verdict: Verdict;
  interval?: BootstrapInterval;
  n: number;
  minSamples: number;
}

export function compareMeans(a: readonly number[], b: readonly number[], options: BootstrapOptions & { minSamples?: number } = {}): GuardedDifference {
  const minSamples = options.minSamples ?? DEFAULT_MIN_SAMPLES;
  const n = a.length;
  if (n < minSamples || n === 0) {
    return { verdict: 'insufficient_data', n, minSamples, ...(n > 0 ? { interval: pairedBootstrapDifference(a, b, options) } : {}) };
  }
  const interval = pairedBootstrapDifference(a, b, options);
  const verdict: Verdict = interval.lower > 0 || interval.upper < 0 ? 'significant' : 'not_significant';
  return { verdict, interval, n, minSamples };
}
