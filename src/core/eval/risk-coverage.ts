import { invalidRequest } from '../errors.js';
import { wilsonInterval } from './statistics.js';

// The risk–coverage curve of a cascade and the choice of its threshold τ from a quality target.
// At threshold τ the student serves the requests where its confidence ≥ τ (coverage, "student
// share") and the teacher the rest; what a cascade risks is the student's disagreement with the
// teacher on the share it serves. A target says how much of that is acceptable:
//   - minAgreement: agreement among student-served requests ≥ target;
//   - maxAccuracyLoss: the share of all requests where the served answer differs from the
//     teacher's (an upper bound on the accuracy lost against teacher-only) ≤ target.
// Each is checked on a one-sided Wilson bound, not the point estimate, so a τ chosen on a few
// hundred held-out examples keeps its promise on traffic with the stated confidence.

export type CascadeTarget = { minAgreement: number; confidence?: number } | { maxAccuracyLoss: number; confidence?: number };

export interface ScoredExample {
  /** The student's (calibrated) confidence in its answer. */
  confidence: number;
  /** Whether the student's answer agrees with the teacher's. */
  agrees: boolean;
}

export interface CoveragePoint {
  threshold: number;
  /** Share of requests the student serves at this threshold. */
  coverage: number;
  served: number;
  /** Agreement with the teacher among the served requests (NaN when none is served). */
  agreement: number;
  agreementLowerBound: number;
  /** Share of all requests served by the student with an answer that differs from the teacher's. */
  accuracyLoss: number;
  accuracyLossUpperBound: number;
}

export interface ThresholdChoice extends CoveragePoint {
  target: CascadeTarget;
  met: true;
}

export const DEFAULT_TARGET_CONFIDENCE = 0.95;

/** One-sided bounds at `confidence` are the two-sided Wilson interval at 2·confidence − 1. */
const twoSided = (confidence: number) => 2 * confidence - 1;

function pointAt(threshold: number, served: number, agreements: number, n: number, confidence: number): CoveragePoint {
  const level = twoSided(confidence);
  const disagreements = served - agreements;
  return {
    threshold,
    coverage: n ? served / n : 0,
    served,
    agreement: served ? agreements / served : Number.NaN,
    agreementLowerBound: served ? wilsonInterval(agreements, served, level).lower : 0,
    accuracyLoss: n ? disagreements / n : 0,
    accuracyLossUpperBound: n ? wilsonInterval(disagreements, n, level).upper : 1,
  };
}

function sortedByConfidence(examples: readonly ScoredExample[]): ScoredExample[] {
  for (const e of examples) {
    if (!Number.isFinite(e.confidence)) throw invalidRequest('Every scored example needs a finite confidence.', 'confidence');
  }
  return [...examples].sort((a, b) => b.confidence - a.confidence);
}

/** Every distinct threshold worth considering: each distinct confidence, highest first. */
export function riskCoverage(examples: readonly ScoredExample[], confidence = DEFAULT_TARGET_CONFIDENCE): CoveragePoint[] {
  const sorted = sortedByConfidence(examples);
  const points: CoveragePoint[] = [];
  let agreements = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i]!.agrees) agreements++;
    // Ties share a threshold: only the last of a run of equal confidences is a point.
    if (i + 1 < sorted.length && sorted[i + 1]!.confidence === sorted[i]!.confidence) continue;
    points.push(pointAt(sorted[i]!.confidence, i + 1, agreements, sorted.length, confidence));
  }
  return points;
}

/** The curve at fixed thresholds, for reports (a few rows instead of one per example). */
export function riskCoverageAt(
  examples: readonly ScoredExample[],
  thresholds: readonly number[] = [0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99],
  confidence = DEFAULT_TARGET_CONFIDENCE,
): CoveragePoint[] {
  return thresholds.map((t) => {
    let served = 0;
    let agreements = 0;
    for (const e of examples) {
      if (e.confidence < t) continue;
      served++;
      if (e.agrees) agreements++;
    }
    return pointAt(t, served, agreements, examples.length, confidence);
  });
}

export function meetsTarget(point: CoveragePoint, target: CascadeTarget): boolean {
  if ('minAgreement' in target) return point.served > 0 && point.agreementLowerBound >= target.minAgreement;
  return point.accuracyLossUpperBound <= target.maxAccuracyLoss;
}

/**
 * The lowest threshold (largest student share) whose bound meets the target; undefined when none
 * does — the student then serves nothing under this target. The bound is checked at every
 * candidate threshold, so the scan is a selection: the confidence is nominal, and the job checks
 * the chosen τ again on the test split it never saw.
 */
export function chooseCascadeThreshold(examples: readonly ScoredExample[], target: CascadeTarget): ThresholdChoice | undefined {
  const confidence = target.confidence ?? DEFAULT_TARGET_CONFIDENCE;
  let best: CoveragePoint | undefined;
  for (const p of riskCoverage(examples, confidence)) {
    if (meetsTarget(p, target) && (!best || p.served > best.served)) best = p;
  }
  return best ? { ...best, target, met: true } : undefined;
}

export function describeTarget(target: CascadeTarget): string {
  return 'minAgreement' in target ? `minAgreement ${target.minAgreement}` : `maxAccuracyLoss ${target.maxAccuracyLoss}`;
}
