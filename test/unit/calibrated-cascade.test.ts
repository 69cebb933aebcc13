import { describe, expect, it } from 'vitest';
import { calibrateTemperature, expectedCalibrationError, fitTemperature, softmaxWithTemperature } from '../../src/core/eval/calibration.js';
import { createRandom } from '../../src/core/eval/random.js';
import { chooseCascadeThreshold, riskCoverage, riskCoverageAt, type ScoredExample } from '../../src/core/eval/risk-coverage.js';
import { decideRoute } from '../../src/core/routing/decide-route.js';
import { routingSchema, type RoutingConfig } from '../../src/core/routing/policy-schema.js';

// The calibrated cascade, pure parts: temperature scaling, the risk–coverage curve, the choice of
// τ from a quality target, and the router using the τ a student version stored.

const routing = (policy: unknown): RoutingConfig => routingSchema.parse({ policy });

/**
 * An overconfident synthetic student: its logits are a calibrated model's logits times 6 (what a
 * net trained too long on hard labels does). The true class has a margin drawn so that accuracy
 * is about 0.7, well below the confidence the sharpened softmax reports.
 */
function overconfidentStudent(n: number, seed: number, classes = 5) {
  const random = createRandom(seed);
  const logits: Float64Array[] = [];
  const targets: number[] = [];
  for (let k = 0; k < n; k++) {
    const z = new Float64Array(classes);
    for (let i = 0; i < classes; i++) z[i] = random() * 2;
    const target = Math.floor(random() * classes);
    z[target]! += random() * 2.2;
    for (let i = 0; i < classes; i++) z[i]! *= 6;
    logits.push(z);
    targets.push(target);
  }
  return { logits, targets };
}

describe('temperature scaling', () => {
  it('lowers the ECE of an overconfident student and keeps its predictions', () => {
    const { logits, targets } = overconfidentStudent(3000, 7);
    const fit = calibrateTemperature(logits, targets);
    expect(fit.temperature).toBeGreaterThan(1.5);
    expect(fit.meanConfidenceBefore).toBeGreaterThan(fit.accuracy + 0.1);
    expect(fit.eceBefore).toBeGreaterThan(0.1);
    expect(fit.eceAfter).toBeLessThan(fit.eceBefore / 3);
    expect(Math.abs(fit.meanConfidenceAfter - fit.accuracy)).toBeLessThan(0.03);
    expect(fit.nllAfter).toBeLessThan(fit.nllBefore);
    // Held-out check: the T fitted on one sample also calibrates a fresh one.
    const fresh = overconfidentStudent(3000, 8);
    const conf = (t: number) => fresh.logits.map((z) => Math.max(...softmaxWithTemperature(z, t)));
    const right = fresh.logits.map((z, i) => z.indexOf(Math.max(...z)) === fresh.targets[i]);
    expect(expectedCalibrationError(conf(fit.temperature), right)).toBeLessThan(expectedCalibrationError(conf(1), right) / 3);
  });

  it('returns T = 1 when there are too few held-out examples to fit', () => {
    const { logits, targets } = overconfidentStudent(10, 1);
    expect(fitTemperature(logits, targets)).toBe(1);
  });
});

/** A calibrated student's scored answers: it agrees with the teacher with probability = its confidence. */
function calibratedScores(n: number, seed: number): ScoredExample[] {
  const random = createRandom(seed);
  return Array.from({ length: n }, () => {
    const confidence = 0.5 + 0.5 * Math.sqrt(random());
    return { confidence, agrees: random() < confidence };
  });
}

describe('choosing τ from a quality target', () => {
  // A large fresh sample stands in for the traffic the τ will face (its true agreement).
  const traffic = calibratedScores(200_000, 99);

  it('meets minAgreement on held-out data, maximising the student share', () => {
    const validation = calibratedScores(3000, 11);
    const choice = chooseCascadeThreshold(validation, { minAgreement: 0.95 })!;
    expect(choice.agreementLowerBound).toBeGreaterThanOrEqual(0.95);
    // No lower threshold (more coverage) would have met the bound.
    for (const p of riskCoverage(validation)) if (p.served > choice.served) expect(p.agreementLowerBound).toBeLessThan(0.95);
    // Out of sample, over many validation draws: the τ keeps its promise on traffic (a bound at
    // 95% may miss now and then; a point estimate would miss about half the time).
    let met = 0;
    for (let seed = 100; seed < 120; seed++) {
      const tau = chooseCascadeThreshold(calibratedScores(3000, seed), { minAgreement: 0.95 })!.threshold;
      const [onTraffic] = riskCoverageAt(traffic, [tau]);
      if (onTraffic!.agreement >= 0.95) met++;
      expect(onTraffic!.agreement).toBeGreaterThan(0.945);
      expect(onTraffic!.coverage).toBeGreaterThan(0.1);
    }
    expect(met).toBeGreaterThanOrEqual(18);
  });

  it('meets maxAccuracyLoss on held-out data', () => {
    let met = 0;
    for (let seed = 200; seed < 220; seed++) {
      const choice = chooseCascadeThreshold(calibratedScores(3000, seed), { maxAccuracyLoss: 0.02 })!;
      expect(choice.accuracyLossUpperBound).toBeLessThanOrEqual(0.02);
      const [onTraffic] = riskCoverageAt(traffic, [choice.threshold]);
      if (onTraffic!.accuracyLoss <= 0.02) met++;
    }
    expect(met).toBeGreaterThanOrEqual(18);
  });

  it('returns nothing when no threshold can meet the target', () => {
    const poor = Array.from({ length: 200 }, (_, i) => ({ confidence: i / 200, agrees: i % 2 === 0 }));
    expect(chooseCascadeThreshold(poor, { minAgreement: 0.9 })).toBeUndefined();
  });
});

describe('routing by a quality target', () => {
  it('accepts a target instead of a threshold, and rejects neither', () => {
    expect(routing({ type: 'cascade', target: { minAgreement: 0.98 } }).policy).toMatchObject({ target: { minAgreement: 0.98, confidence: 0.95 } });
    expect(routingSchema.safeParse({ policy: { type: 'cascade', target: { maxAccuracyLoss: 0.01 } } }).success).toBe(true);
    expect(routingSchema.safeParse({ policy: { type: 'cascade', shadowSampleRate: 0.1 } }).success).toBe(false);
    expect(routingSchema.safeParse({ policy: { type: 'cascade', target: { minAgreement: 0.98, maxAccuracyLoss: 0.01 } } }).success).toBe(false);
  });

  it("uses the τ the student version stored for the policy's target", () => {
    const policy = routing({ type: 'cascade', target: { minAgreement: 0.98 } });
    const d = decideRoute(policy, { studentAvailable: true, studentCalibration: { threshold: 0.8123, target: { minAgreement: 0.98, confidence: 0.95 } } }, () => 0.5);
    expect(d.cascade).toEqual({ threshold: 0.8123, escalateOnInvalid: true });
    expect(d.reason).toContain("version's τ for minAgreement 0.98");
  });

  it('does not use a τ chosen for another target; falls back to the raw threshold, or serves nothing', () => {
    const other = { threshold: 0.3, target: { minAgreement: 0.9, confidence: 0.95 } };
    const withRaw = routing({ type: 'cascade', target: { minAgreement: 0.98 }, threshold: 0.7 });
    expect(decideRoute(withRaw, { studentAvailable: true, studentCalibration: other }, () => 0.5).cascade?.threshold).toBe(0.7);
    const targetOnly = routing({ type: 'cascade', target: { minAgreement: 0.98 } });
    expect(decideRoute(targetOnly, { studentAvailable: true }, () => 0.5).cascade?.threshold).toBe(Number.POSITIVE_INFINITY);
    // A raw threshold policy ignores a stored τ.
    expect(decideRoute(routing({ type: 'cascade', threshold: 0.6 }), { studentAvailable: true, studentCalibration: other }, () => 0.5).cascade?.threshold).toBe(0.6);
  });
});

describe('telemetry wrapper', () => {
  it("keeps the student's calibrated τ visible to the gateway", async () => {
    const { traceChatModel } = await import('../../src/telemetry-ports.js');
    const calibration = { threshold: 0.9, target: { minAgreement: 0.98, confidence: 0.95 } };
    const model = { id: 's', hosting: 'in-process' as const, cascadeCalibration: calibration, generate: async () => { throw new Error('unused'); }, stream: async function* () {} };
    expect(traceChatModel(model, 'student').cascadeCalibration).toEqual(calibration);
  });
});
