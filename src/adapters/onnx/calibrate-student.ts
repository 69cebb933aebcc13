import { calibrateTemperature, softmaxWithTemperature, type TemperatureCalibration } from '../../core/eval/calibration.js';
import { chooseCascadeThreshold, riskCoverageAt, type CascadeTarget, type CoveragePoint, type ScoredExample } from '../../core/eval/risk-coverage.js';
import { createFeaturizer } from '../../core/tasks/featurizer.js';
import { argmax, forwardStudent, type StudentWeights } from './student-weights.js';
import type { TrainingExample } from './train-student.js';

// Calibration of a freshly trained student on its validation split (held out from the gradient
// steps): temperature scaling, reliability before and after, the risk–coverage curve with the
// calibrated confidences, and — when the task's cascade has a quality target — the τ that meets
// it. Runs in the training worker, after training, so the serving thread never pays for it.

export interface CascadeChoice {
  threshold: number;
  target: CascadeTarget;
  coverage: number;
  agreement: number;
  agreementLowerBound: number;
  accuracyLossUpperBound: number;
  n: number;
}

export interface StudentCalibration extends TemperatureCalibration {
  curve: CoveragePoint[];
  /** Absent without a target, or when no τ meets it on this split (the student then serves nothing). */
  cascade?: CascadeChoice;
  targetMet?: boolean;
}

/** Calibrates on examples whose teacher label is in the label set; undefined when there are none. */
export function calibrateStudent(
  weights: StudentWeights,
  validation: readonly TrainingExample[],
  target?: CascadeTarget,
  /** The student's logits on the i-th example, for kinds that do not featurize text (the encoder student). */
  logitsOf?: (ex: TrainingExample, i: number) => Float64Array,
): StudentCalibration | undefined {
  const index = new Map(weights.labels.map((l, i) => [l, i]));
  const featurizer = createFeaturizer(weights.featurizer);
  const logits: Float64Array[] = [];
  const targets: number[] = [];
  for (const [i, ex] of validation.entries()) {
    const label = ex.label === null ? undefined : index.get(ex.label);
    if (label === undefined) continue;
    logits.push(logitsOf ? logitsOf(ex, i) : forwardStudent(weights, featurizer.featurize(ex.text).ids).logits);
    targets.push(label);
  }
  if (logits.length === 0) return undefined;
  const fit = calibrateTemperature(logits, targets);
  const scored: ScoredExample[] = logits.map((z, i) => {
    const p = softmaxWithTemperature(z, fit.temperature);
    const best = argmax(p);
    return { confidence: p[best]!, agrees: best === targets[i] };
  });
  const out: StudentCalibration = { ...fit, curve: riskCoverageAt(scored, undefined, target?.confidence) };
  if (!target) return out;
  const choice = chooseCascadeThreshold(scored, target);
  out.targetMet = choice !== undefined;
  if (choice) {
    out.cascade = {
      threshold: choice.threshold,
      target,
      coverage: choice.coverage,
      agreement: choice.agreement,
      agreementLowerBound: choice.agreementLowerBound,
      accuracyLossUpperBound: choice.accuracyLossUpperBound,
      n: scored.length,
    };
  }
  return out;
}

/** The flat numbers a model version's metrics carry (registries keep finite numbers only). */
export function calibrationMetrics(c: StudentCalibration | undefined): Record<string, number> {
  if (!c) return {};
  const m: Record<string, number> = {
    calibrationTemperature: c.temperature,
    calibrationExamples: c.n,
    eceBefore: c.eceBefore,
    eceAfter: c.eceAfter,
    meanConfidenceBefore: c.meanConfidenceBefore,
    meanConfidenceAfter: c.meanConfidenceAfter,
  };
  if (c.targetMet !== undefined) m.cascadeTargetMet = c.targetMet ? 1 : 0;
  if (c.cascade) {
    m.cascadeThreshold = c.cascade.threshold;
    m.cascadeValidationCoverage = c.cascade.coverage;
    m.cascadeValidationAgreement = c.cascade.agreement;
    m.cascadeValidationAgreementLowerBound = c.cascade.agreementLowerBound;
  }
  return m;
}
