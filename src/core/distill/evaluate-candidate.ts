import type { ChatModel } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import { summarizeLatencies, type LatencySummary } from '../eval/latency-summary.js';
import {
  mcnemarFromPairs,
  nonInferiorityTest,
  wilsonInterval,
  type Interval,
  type McNemarResult,
  type NonInferiorityResult,
} from '../eval/statistics.js';
import type { DatasetExample } from './dataset-builder.js';
import { describeLatencyBudget, resolveGate, type GateSettings, type ResolvedGate } from './distill-settings.js';
import type { StudentKind } from './student-kind.js';
import { scoreAnswer } from './task-types.js';

// Offline evaluation of a candidate student on the held-out test split: agreement with the
// teacher's answers (the distillation target), accuracy against gold references when the source
// dataset has them, latency, and the paired comparison with the currently promoted student.
// Agreement is measured per task type (see resolveGate): label equality for label tasks, the same
// final number for math, sentence chrF or ROUGE-L against the teacher's answer (0..1) for free text;
// each type has its own default bar and each student kind (n-gram bag, pair-aware, convolutional,
// encoder, remote: student-kind.ts) its own latency budget.

export interface ArmEvaluation {
  model: string;
  hosting: ChatModel['hosting'];
  n: number;
  errors: number;
  agreement: number;
  agreementInterval?: Interval;
  accuracy?: { value: number; n: number; interval: Interval };
  latency: LatencySummary;
  /** Per-example agreement in test order (1/0 for labels and math, chrF or ROUGE-L for text). */
  perExample: number[];
}

export interface CandidateEvaluation {
  testExamples: number;
  /** The gate this candidate is judged by: thresholds of its task type and hosting. */
  gate: ResolvedGate;
  candidate: ArmEvaluation;
  current?: ArmEvaluation;
  nonInferiority?: NonInferiorityResult;
  mcnemar?: McNemarResult;
}

export interface GateDecision {
  promote: boolean;
  reasons: string[];
}

async function runArm(model: ChatModel, task: TaskRuntime, gate: ResolvedGate, examples: readonly DatasetExample[], concurrency: number): Promise<ArmEvaluation> {
  // The budget is for serving, not for the cold start: an in-process student that can create its
  // session ahead (OnnxStudentModel.warm) does so before the clock runs, as the resolver does on load.
  await (model as { warm?: () => Promise<void> }).warm?.();
  const perExample = new Array<number>(examples.length).fill(0);
  const latencies: number[] = [];
  let errors = 0;
  let correct = 0;
  let withReference = 0;
  let next = 0;
  const worker = async () => {
    while (next < examples.length) {
      const i = next++;
      const ex = examples[i]!;
      const t0 = performance.now();
      try {
        const result = await model.generate({ messages: ex.messages });
        latencies.push(performance.now() - t0);
        if (task.parseLabel) {
          const label = task.parseLabel(result.text);
          perExample[i] = label !== null && label === ex.label ? 1 : 0;
          if (ex.reference !== undefined) {
            withReference++;
            if (label === ex.reference) correct++;
          }
        } else {
          perExample[i] = textAgreement(gate, result.text, ex.target);
          if (ex.reference !== undefined) {
            withReference++;
            if (gate.metric === 'exactMatch' ? textAgreement(gate, result.text, ex.reference) === 1 : normalize(result.text) === normalize(ex.reference)) correct++;
          }
        }
      } catch {
        // A failed call counts as disagreement and as an error; the gate rejects on any error.
        latencies.push(performance.now() - t0);
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, examples.length)) }, worker));
  const n = examples.length;
  const agreement = n ? perExample.reduce((a, b) => a + b, 0) / n : 0;
  const out: ArmEvaluation = { model: model.id, hosting: model.hosting, n, errors, agreement, latency: summarizeLatencies(latencies), perExample };
  if (isBinary(gate) && n) out.agreementInterval = wilsonInterval(Math.round(agreement * n), n);
  if (withReference) out.accuracy = { value: correct / withReference, n: withReference, interval: wilsonInterval(correct, withReference) };
  return out;
}

const normalize = (t: string) => t.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();

/** Per-answer agreements that are 1 or 0 (labels, final numbers): Wilson intervals and McNemar apply. */
const isBinary = (gate: ResolvedGate) => gate.metric === 'label' || gate.metric === 'exactMatch';

/** A free-text answer's agreement with a reference by the gate's metric (the task type's scorer). */
function textAgreement(gate: ResolvedGate, text: string, reference: string): number {
  const scores = scoreAnswer(gate.taskType, text, reference);
  return gate.metric === 'label' ? (scores.accuracy ?? 0) : (scores[gate.metric] ?? 0);
}

export async function evaluateCandidate(input: {
  task: TaskRuntime;
  test: readonly DatasetExample[];
  candidate: ChatModel;
  current?: ChatModel;
  gate: GateSettings;
  /** Remote students are called concurrently; in-process ones gain nothing from it. */
  concurrency?: number;
  /** The candidate's kind (studentKindOf its version): picks its latency budget. */
  studentKind?: StudentKind;
}): Promise<CandidateEvaluation> {
  const concurrency = input.concurrency ?? (input.candidate.hosting === 'in-process' ? 1 : 8);
  const gate = resolveGate(input.gate, {
    labelled: input.task.parseLabel !== undefined,
    hosting: input.candidate.hosting,
    ...(input.studentKind !== undefined ? { studentKind: input.studentKind } : {}),
  });
  const candidate = await runArm(input.candidate, input.task, gate, input.test, concurrency);
  const evaluation: CandidateEvaluation = { testExamples: input.test.length, gate, candidate };
  if (input.current) {
    const current = await runArm(input.current, input.task, gate, input.test, input.current.hosting === 'in-process' ? 1 : 8);
    evaluation.current = current;
    const differences = candidate.perExample.map((v, i) => v - current.perExample[i]!);
    evaluation.nonInferiority = nonInferiorityTest(differences, {
      margin: input.gate.nonInferiorityMargin,
      alpha: input.gate.alpha,
      minSamples: input.gate.minTestExamples,
    });
    if (isBinary(gate)) {
      evaluation.mcnemar = mcnemarFromPairs(
        candidate.perExample.map((v) => v === 1),
        current.perExample.map((v) => v === 1),
      );
    }
  }
  return evaluation;
}

/**
 * The task's quality gate, as data: every failed condition is a stored reason. The thresholds are
 * `settings` resolved for the task type the evaluation measured and the candidate's hosting.
 */
export function decidePromotion(evaluation: CandidateEvaluation, settings: GateSettings): GateDecision {
  const measured = evaluation.gate;
  const gate = resolveGate(
    { ...settings, taskType: measured.taskType },
    { labelled: measured.metric === 'label', hosting: evaluation.candidate.hosting, ...(measured.studentKind !== undefined ? { studentKind: measured.studentKind } : {}) },
  );
  const reasons: string[] = [];
  const c = evaluation.candidate;
  const what = `${gate.metric === 'label' ? 'label agreement' : `${gate.metric} agreement`} with teacher (${gate.taskType})`;
  if (evaluation.testExamples < gate.minTestExamples) {
    reasons.push(`only ${evaluation.testExamples} test examples (< ${gate.minTestExamples}): not enough evidence`);
  }
  if (c.agreement < gate.minAgreement) reasons.push(`${what} ${c.agreement.toFixed(4)} < ${gate.minAgreement}`);
  if (gate.minAccuracy !== undefined) {
    if (!c.accuracy) reasons.push(`accuracy gate ${gate.minAccuracy} set but the test split has no gold references`);
    else if (c.accuracy.value < gate.minAccuracy) reasons.push(`accuracy ${c.accuracy.value.toFixed(4)} < ${gate.minAccuracy}`);
  }
  if (c.latency.count > 0 && c.latency.p95InMs > gate.maxP95LatencyInMs) {
    reasons.push(`p95 latency ${c.latency.p95InMs.toFixed(2)} ms > ${gate.maxP95LatencyInMs} ms ${describeLatencyBudget(gate)}`);
  }
  if (c.errors > 0) reasons.push(`${c.errors} test calls failed`);
  const ni = evaluation.nonInferiority;
  if (ni && ni.verdict !== 'non_inferior') {
    reasons.push(
      `not shown non-inferior to the current student at δ=${gate.nonInferiorityMargin} (verdict ${ni.verdict}, ` +
        `mean difference ${ni.meanDifference.toFixed(4)}, lower bound ${Number.isNaN(ni.lowerBound) ? 'n/a' : ni.lowerBound.toFixed(4)})`,
    );
  }
  if (reasons.length > 0) return { promote: false, reasons };
  return {
    promote: true,
    reasons: [
      `${what} ${c.agreement.toFixed(4)} ≥ ${gate.minAgreement}`,
      ...(gate.minAccuracy !== undefined && c.accuracy ? [`accuracy ${c.accuracy.value.toFixed(4)} ≥ ${gate.minAccuracy}`] : []),
      `p95 latency ${c.latency.p95InMs.toFixed(2)} ms ≤ ${gate.maxP95LatencyInMs} ms ${describeLatencyBudget(gate)}`,
      ni ? `non-inferior to the current student at δ=${gate.nonInferiorityMargin} (lower bound ${ni.lowerBound.toFixed(4)})` : 'no current student to compare with',
    ],
  };
}
