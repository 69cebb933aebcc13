import { expectedCalibrationError } from '../eval/calibration.js';
import { meetsTarget, riskCoverageAt, type CascadeTarget, type CoveragePoint, type ScoredExample } from '../eval/risk-coverage.js';
import type { ChatModel } from '../ports.js';
import { cascadeThreshold } from '../routing/decide-route.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import type { DatasetExample } from './dataset-builder.js';

// The cascade a candidate would run, measured on the test split it never saw (its τ was chosen
// on the validation split): reliability of its served confidences, the risk–coverage curve with
// the served accuracy against gold references when the dataset has them, and the operating point
// at the τ the gateway will use — so the job report shows whether the target holds out of sample.

export interface CascadePoint extends CoveragePoint {
  /** Accuracy of what the cascade serves (student above τ, teacher below) against gold references. */
  servedAccuracy?: number;
}

export interface CascadeEvaluation {
  n: number;
  /** ECE of the confidences the student reports when serving (calibrated if it has a temperature). */
  ece: number;
  meanConfidence: number;
  agreement: number;
  curve: CascadePoint[];
  /** The τ the gateway uses for this version under the task's policy, and how it fares here. */
  chosen: CascadePoint & {
    target?: CascadeTarget;
    /** The point estimate on test meets the target (the student serving nothing meets any). */
    targetMetOnTest?: boolean;
    /** The bound on test meets it too (stricter: the test split is small next to traffic). */
    targetBoundMetOnTest?: boolean;
    source: string;
  };
  teacherAccuracy?: number;
}

interface Scored extends ScoredExample {
  studentLabel: string | null;
  teacherLabel: string | undefined;
  reference: string | undefined;
}

async function score(candidate: ChatModel, task: TaskRuntime, test: readonly DatasetExample[]): Promise<Scored[] | undefined> {
  const out: Scored[] = [];
  for (const ex of test) {
    const r = await candidate.generate({ messages: ex.messages });
    if (r.confidence === undefined) return undefined; // a student without confidences cannot cascade
    const studentLabel = task.parseLabel!(r.text);
    out.push({ confidence: r.confidence, agrees: studentLabel !== null && studentLabel === ex.label, studentLabel, teacherLabel: ex.label ?? undefined, reference: ex.reference });
  }
  return out;
}

function servedAccuracy(scored: readonly Scored[], threshold: number): number | undefined {
  let n = 0;
  let correct = 0;
  for (const s of scored) {
    if (s.reference === undefined) continue;
    n++;
    const served = s.confidence >= threshold ? s.studentLabel : s.teacherLabel;
    if (served === s.reference) correct++;
  }
  return n ? correct / n : undefined;
}

const withAccuracy = (scored: readonly Scored[], p: CoveragePoint): CascadePoint => {
  const acc = servedAccuracy(scored, p.threshold);
  return acc === undefined ? p : { ...p, servedAccuracy: acc };
};

function pointMeets(p: CoveragePoint, target: CascadeTarget): boolean {
  if (p.served === 0) return true;
  return 'minAgreement' in target ? p.agreement >= target.minAgreement : p.accuracyLoss <= target.maxAccuracyLoss;
}

/** Undefined for tasks without labels, remote students, or students that report no confidence. */
export async function evaluateCascade(input: { task: TaskRuntime; test: readonly DatasetExample[]; candidate: ChatModel }): Promise<CascadeEvaluation | undefined> {
  const { task, test, candidate } = input;
  // A second pass over the test split is free in-process; for a remote student it would double the evaluation's calls.
  if (!task.parseLabel || test.length === 0 || candidate.hosting !== 'in-process') return undefined;
  const scored = await score(candidate, task, test);
  if (!scored) return undefined;
  const policy = task.config.routing.policy;
  const target = policy.type === 'cascade' ? policy.target : undefined;
  const level = target?.confidence;
  const tau =
    policy.type === 'cascade' ? cascadeThreshold(policy, candidate.cascadeCalibration) : { threshold: 0.5, describe: '0.5 (the task routes by no cascade)' };
  const [chosen] = riskCoverageAt(scored, [tau.threshold], level);
  const teacherAccuracy = servedAccuracy(scored, Number.POSITIVE_INFINITY);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    n: scored.length,
    ece: expectedCalibrationError(scored.map((s) => s.confidence), scored.map((s) => s.agrees)),
    meanConfidence: mean(scored.map((s) => s.confidence)),
    agreement: mean(scored.map((s) => (s.agrees ? 1 : 0))),
    curve: riskCoverageAt(scored, undefined, level).map((p) => withAccuracy(scored, p)),
    chosen: {
      ...withAccuracy(scored, chosen!),
      source: tau.describe,
      ...(target ? { target, targetMetOnTest: pointMeets(chosen!, target), targetBoundMetOnTest: meetsTarget(chosen!, target) } : {}),
    },
    ...(teacherAccuracy !== undefined ? { teacherAccuracy } : {}),
  };
}
