import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { createRandom, randomNormal } from '../../src/core/eval/random.js';
import {
  binomialCdf,
  bootstrapMean,
  compareMeans,
  mcnemarExact,
  mcnemarFromPairs,
  meanInterval,
  nonInferiorityTest,
  normalQuantile,
  pairedBootstrapDifference,
  wilsonInterval,
} from '../../src/core/eval/statistics.js';
import {
  LatencyHistogram,
  sequentialThroughput,
  summarizeColdStart,
  summarizeLatencies,
  summarizeMemory,
  throughput,
} from '../../src/core/eval/latency-summary.js';

describe('seeded random source', () => {
  it('repeats for a seed and differs across seeds', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    const r = createRandom('label');
    let sum = 0;
    for (let i = 0; i < 100_000; i++) sum += r();
    expect(sum / 100_000).toBeGreaterThan(0.49);
    expect(sum / 100_000).toBeLessThan(0.51);
  });
});

describe('McNemar exact test', () => {
  it('b=10, c=2 gives the exact two-sided p = 0.0386', () => {
    const r = mcnemarExact(10, 2);
    expect(r.pValue).toBeCloseTo((2 * (1 + 12 + 66)) / 4096, 12);
    expect(r.pValue.toFixed(4)).toBe('0.0386');
    expect(r.verdict).toBe('significant');
    expect(r.favours).toBe('a');
  });

  it('is symmetric, caps at 1, and refuses to conclude on too few discordant pairs', () => {
    expect(mcnemarExact(2, 10).pValue).toBeCloseTo(mcnemarExact(10, 2).pValue, 14);
    expect(mcnemarExact(5, 5).pValue).toBe(1);
    expect(mcnemarExact(0, 0).pValue).toBe(1);
    // b=5, c=0: p = 2/32 = 0.0625; and below the 6-discordant guard anyway.
    const few = mcnemarExact(3, 0);
    expect(few.pValue).toBeCloseTo(0.25, 12);
    expect(few.verdict).toBe('insufficient_data');
  });

  it('counts discordant pairs from paired booleans', () => {
    const a = [true, true, false, true, false, true];
    const b = [true, false, false, false, true, true];
    const r = mcnemarFromPairs(a, b, { minDiscordant: 0 });
    expect([r.b, r.c]).toEqual([2, 1]);
    expect(r.pValue).toBeCloseTo(1, 12);
  });

  it('binomial CDF matches hand values', () => {
    expect(binomialCdf(2, 12, 0.5)).toBeCloseTo(79 / 4096, 14);
    expect(binomialCdf(0, 3, 0.2)).toBeCloseTo(0.512, 14);
    expect(binomialCdf(12, 12, 0.5)).toBe(1);
  });

  it('rejects negative counts', () => {
    expect(() => mcnemarExact(-1, 2)).toThrow(DistilleryError);
  });
});

describe('Wilson interval and normal quantile', () => {
  it('known values', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8);
    expect(normalQuantile(0.05)).toBeCloseTo(-1.644853627, 8);
    const w = wilsonInterval(8, 10);
    expect(w.lower).toBeCloseTo(0.49016, 4);
    expect(w.upper).toBeCloseTo(0.94332, 4);
    const zero = wilsonInterval(0, 20);
    expect(zero.lower).toBe(0);
    expect(zero.upper).toBeCloseTo(0.16113, 4);
    expect(() => wilsonInterval(11, 10)).toThrow(DistilleryError);
  });

  it('normal-approximation mean interval', () => {
    const m = meanInterval(100, 0.5, 0.25);
    expect(m.lower).toBeCloseTo(0.5 - 1.959964 * 0.05, 5);
  });
});

describe('bootstrap', () => {
  it('is reproducible for a seed', () => {
    const xs = Array.from({ length: 50 }, (_, i) => (i * 37) % 11);
    expect(bootstrapMean(xs, { seed: 7 })).toEqual(bootstrapMean(xs, { seed: 7 }));
    expect(bootstrapMean(xs, { seed: 7 }).lower).not.toBe(bootstrapMean(xs, { seed: 8 }).lower);
  });

  it('covers the true mean about 95% of the time on a seeded simulation', () => {
    const random = createRandom(2024);
    const trueMean = 0.3;
    const trials = 300;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const sample = Array.from({ length: 40 }, () => trueMean + randomNormal(random));
      const ci = bootstrapMean(sample, { resamples: 400, seed: t });
      if (ci.lower <= trueMean && trueMean <= ci.upper) covered++;
    }
    const coverage = covered / trials;
    expect(coverage).toBeGreaterThan(0.9);
    expect(coverage).toBeLessThan(0.98);
  });

  it('paired difference detects a real shift and not a null one', () => {
    const random = createRandom(5);
    const base = Array.from({ length: 200 }, () => randomNormal(random));
    const shifted = base.map((x) => x + 0.5 + 0.1 * randomNormal(random));
    const noisy = base.map((x) => x + 0.1 * randomNormal(random));
    const d = pairedBootstrapDifference(shifted, base, { seed: 1 });
    expect(d.estimate).toBeCloseTo(0.5, 1);
    expect(d.lower).toBeGreaterThan(0.4);
    expect(compareMeans(shifted, base).verdict).toBe('significant');
    expect(compareMeans(noisy, base).verdict).toBe('not_significant');
    expect(compareMeans(shifted.slice(0, 10), base.slice(0, 10)).verdict).toBe('insufficient_data');
    expect(() => pairedBootstrapDifference([1, 2], [1])).toThrow(DistilleryError);
  });
});

describe('non-inferiority (student ≥ teacher − δ)', () => {
  it('concludes non-inferior, inferior, inconclusive or insufficient as the data say', () => {
    const random = createRandom(11);
    const small = (centre: number, n = 200) => Array.from({ length: n }, () => centre + 0.05 * randomNormal(random));
    expect(nonInferiorityTest(small(-0.01), { margin: 0.05, seed: 1 }).verdict).toBe('non_inferior');
    expect(nonInferiorityTest(small(-0.2), { margin: 0.05, seed: 1 }).verdict).toBe('inferior');
    expect(nonInferiorityTest(small(-0.05), { margin: 0.05, seed: 1 }).verdict).toBe('inconclusive');
    const few = nonInferiorityTest(small(0, 10), { margin: 0.05 });
    expect(few.verdict).toBe('insufficient_data');
    expect(few.n).toBe(10);
    expect(() => nonInferiorityTest([0.1], { margin: -1 })).toThrow(DistilleryError);
  });

  it('works on paired 0/1 accuracy differences', () => {
    // 100 items; student wrong on 3 the teacher got right, right on 1 the teacher got wrong.
    const diffs = [...new Array(96).fill(0), -1, -1, -1, 1];
    const r = nonInferiorityTest(diffs, { margin: 0.1, seed: 3 });
    expect(r.meanDifference).toBeCloseTo(-0.02, 12);
    expect(r.verdict).toBe('non_inferior');
  });
});

describe('latency summaries', () => {
  it('type-7 percentiles on a known sample', () => {
    const s = summarizeLatencies([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(s.p50InMs).toBeCloseTo(5.5, 12);
    expect(s.p90InMs).toBeCloseTo(9.1, 12);
    expect(s.p95InMs).toBeCloseTo(9.55, 12);
    expect(s.p99InMs).toBeCloseTo(9.91, 12);
    expect(s.meanInMs).toBe(5.5);
    expect([s.minInMs, s.maxInMs]).toEqual([1, 10]);
    expect(() => summarizeLatencies([-1])).toThrow(DistilleryError);
  });

  it('the streaming histogram stays within 1% of the exact percentiles', () => {
    const random = createRandom(9);
    const values = Array.from({ length: 20_000 }, () => Math.exp(5 + randomNormal(random)));
    const h = new LatencyHistogram();
    for (const v of values) h.record(v);
    const exact = summarizeLatencies(values);
    const approx = h.summary();
    for (const k of ['p50InMs', 'p90InMs', 'p95InMs', 'p99InMs'] as const) {
      expect(Math.abs(approx[k] - exact[k]) / exact[k]).toBeLessThan(0.011);
    }
    expect(h.distribution(10).reduce((s, b) => s + b.count, 0)).toBe(20_000);
  });

  it('throughput, cold start and memory', () => {
    expect(throughput(500, 3_600_000).perHour).toBeCloseTo(500, 9);
    expect(sequentialThroughput([480, 520]).perSecond).toBeCloseTo(2, 12);
    expect(summarizeColdStart([2000, 100, 120, 110])).toEqual({ firstCallInMs: 2000, warmP50InMs: 110, coldStartPenaltyInMs: 1890 });
    expect(summarizeColdStart([1])).toBeUndefined();
    expect(summarizeMemory([100, 300, 200])).toEqual({ samples: 3, peakInMb: 300, meanInMb: 200 });
  });
});
