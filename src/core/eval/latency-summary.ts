import { invalidRequest } from '../errors.js';
import { quantileSorted } from './statistics.js';

// Latency, throughput, cold start and memory summaries.
//
// Percentile definition: linear interpolation between closest ranks (Hyndman & Fan type 7, the
// default of numpy.percentile and Excel PERCENTILE.INC): p-th percentile = x[floor(h)] +
// (h − floor(h))·(x[floor(h)+1] − x[floor(h)]) with h = (n − 1)·p over sorted samples. The
// streaming histogram below answers the same question from log-spaced buckets, within 1%.

export interface LatencySummary {
  count: number;
  minInMs: number;
  meanInMs: number;
  p50InMs: number;
  p90InMs: number;
  p95InMs: number;
  p99InMs: number;
  maxInMs: number;
}

export const PERCENTILE_DEFINITION = 'linear interpolation between closest ranks (type 7, numpy default)';

function checkLatencies(values: readonly number[]): void {
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
    throw invalidRequest('Latencies must be finite non-negative numbers of milliseconds.', 'latencies', 'invalid_metric_input');
  }
}

export function summarizeLatencies(values: readonly number[]): LatencySummary {
  checkLatencies(values);
  if (values.length === 0) {
    return { count: 0, minInMs: Number.NaN, meanInMs: Number.NaN, p50InMs: Number.NaN, p90InMs: Number.NaN, p95InMs: Number.NaN, p99InMs: Number.NaN, maxInMs: Number.NaN };
  }
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    minInMs: sorted[0]!,
    meanInMs: sum / sorted.length,
    p50InMs: quantileSorted(sorted, 0.5),
    p90InMs: quantileSorted(sorted, 0.9),
    p95InMs: quantileSorted(sorted, 0.95),
    p99InMs: quantileSorted(sorted, 0.99),
    maxInMs: sorted[sorted.length - 1]!,
  };
}

export interface Throughput {
  requests: number;
  elapsedInMs: number;
  perSecond: number;
  perHour: number;
}

/** Completed requests over a wall-clock span. */
export function throughput(requests: number, elapsedInMs: number): Throughput {
  if (!(elapsedInMs > 0) || !(requests >= 0)) throw invalidRequest('Throughput needs requests ≥ 0 and elapsed > 0 ms.', 'elapsedInMs', 'invalid_metric_input');
  const perSecond = (requests * 1000) / elapsedInMs;
  return { requests, elapsedInMs, perSecond, perHour: perSecond * 3600 };
}

/** Sequential calls: throughput is 1 / mean latency (one worker, no overlap). */
export function sequentialThroughput(latenciesInMs: readonly number[]): Throughput {
  checkLatencies(latenciesInMs);
  const total = latenciesInMs.reduce((s, v) => s + v, 0);
  return throughput(latenciesInMs.length, Math.max(total, Number.EPSILON));
}

export interface ColdStart {
  /** Latency of the first call (model load included). */
  firstCallInMs: number;
  /** Median of the calls after the first. */
  warmP50InMs: number;
  /** First call minus the warm median. */
  coldStartPenaltyInMs: number;
}

/** Cold start from latencies in call order (the first call pays for loading). */
export function summarizeColdStart(latenciesInCallOrder: readonly number[]): ColdStart | undefined {
  checkLatencies(latenciesInCallOrder);
  if (latenciesInCallOrder.length < 2) return undefined;
  const first = latenciesInCallOrder[0]!;
  const warm = Float64Array.from(latenciesInCallOrder.slice(1)).sort();
  const warmP50InMs = quantileSorted(warm, 0.5);
  return { firstCallInMs: first, warmP50InMs, coldStartPenaltyInMs: Math.max(0, first - warmP50InMs) };
}

export interface MemorySummary {
  samples: number;
  peakInMb: number;
  meanInMb: number;
}

export function summarizeMemory(samplesInMb: readonly number[]): MemorySummary | undefined {
  if (samplesInMb.length === 0) return undefined;
  checkLatencies(samplesInMb);
  return {
    samples: samplesInMb.length,
    peakInMb: Math.max(...samplesInMb),
    meanInMb: samplesInMb.reduce((s, v) => s + v, 0) / samplesInMb.length,
  };
}

/**
 * Bounded-memory latency histogram for streaming reports: log-spaced buckets with 1% relative
 * width, so any percentile is within 1% of the exact type-7 answer while memory stays a few
 * hundred buckets whatever the number of samples. Buckets are exposed for latency charts.
 */
export class LatencyHistogram {
  static readonly RELATIVE_WIDTH = 0.01;
  private readonly logBase = Math.log1p(LatencyHistogram.RELATIVE_WIDTH);
  private readonly buckets = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  record(valueInMs: number): void {
    if (!Number.isFinite(valueInMs) || valueInMs < 0) return;
    // Sub-millisecond values share one bucket: latencies are reported in whole milliseconds.
    const key = valueInMs < 1 ? -1 : Math.floor(Math.log(valueInMs) / this.logBase);
    this.buckets.set(key, (this.buckets.get(key) ?? 0) + 1);
    this.count++;
    this.sum += valueInMs;
    if (valueInMs < this.min) this.min = valueInMs;
    if (valueInMs > this.max) this.max = valueInMs;
  }

  private representative(key: number): number {
    if (key === -1) return 0.5;
    // Geometric middle of the bucket.
    return Math.exp((key + 0.5) * this.logBase);
  }

  /** Approximate type-7 percentile, clamped to the observed min/max. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = (this.count - 1) * p;
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const k of keys) {
      seen += this.buckets.get(k)!;
      if (seen > rank) return Math.min(this.max, Math.max(this.min, this.representative(k)));
    }
    return this.max;
  }

  summary(): LatencySummary {
    if (this.count === 0) return summarizeLatencies([]);
    return {
      count: this.count,
      minInMs: this.min,
      meanInMs: this.sum / this.count,
      p50InMs: this.percentile(0.5),
      p90InMs: this.percentile(0.9),
      p95InMs: this.percentile(0.95),
      p99InMs: this.percentile(0.99),
      maxInMs: this.max,
    };
  }

  /** Counts over `binCount` log-spaced bins between min and max, for a latency distribution chart. */
  distribution(binCount = 20, range?: { minInMs: number; maxInMs: number }): { upperInMs: number; count: number }[] {
    if (this.count === 0 && !range) return [];
    // A shared range lets several arms be drawn on the same bins.
    const lo = Math.max(1, range?.minInMs ?? this.min);
    const hi = Math.max(lo * 1.0001, range?.maxInMs ?? this.max);
    const step = Math.log(hi / lo) / binCount;
    const bins = Array.from({ length: binCount }, (_, i) => ({ upperInMs: lo * Math.exp(step * (i + 1)), count: 0 }));
    for (const [k, c] of this.buckets) {
      const v = this.representative(k);
      const i = v <= lo ? 0 : Math.min(binCount - 1, Math.floor(Math.log(v / lo) / step));
      bins[i]!.count += c;
    }
    return bins;
  }

  merge(other: LatencyHistogram): void {
    for (const [k, c] of other.buckets) this.buckets.set(k, (this.buckets.get(k) ?? 0) + c);
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }
}
