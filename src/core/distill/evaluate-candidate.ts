import type { ChatModel } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import { sentenceChrf } from '../eval/chrf.js';
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
import type { GateSettings } from './distill-settings.js';

// Offline evaluation of a candidate student on the held-out test split: agreement with the
// teacher's answers (the distillation target), accuracy against gold references when the source
// dataset has them, latency, and the paired comparison with the currently promoted student.
// For classification tasks agreement is label equality; for generative tasks it is sentence chrF
// against the teacher's answer (0..1), so the same gate applies to both.

export interface ArmEvaluation {
  model: string;
  n: number;
  errors: number;
  agreement: number;
  agreementInterval?: Interval;
  accuracy?: { value: number; n: number; interval: Interval };
  latency: LatencySummary;
  /** Per-example agreement in test order (1/0 for labels, chrF/100 for text). */
  perExample: number[];
}

export interface CandidateEvaluation {
  testExamples: number;
  candidate: ArmEvaluation;
  current?: ArmEvaluation;
  nonInferiority?: NonInferiorityResult;
  mcnemar?: McNemarResult;
}

export interface GateDecision {
  promote: boolean;
  reasons: string[];
}

async function runArm(model: ChatModel, task: TaskRuntime, examples: readonly DatasetExample[], concurrency: number): Promise<ArmEvaluation> {
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
          perExample[i] = sentenceChrf(result.text, [ex.target]).score / 100;
          if (ex.reference !== undefined) {
            withReference++;
            if (normalize(result.text) === normalize(ex.reference)) correct++;
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
  const out: ArmEvaluation = { model: model.id, n, errors, agreement, latency: summarizeLatencies(latencies), perExample };
  if (task.parseLabel && n) out.agreementInterval = wilsonInterval(Math.round(agreement * n), n);
  if (withReference) out.accuracy = { value: correct / withReference, n: withReference, interval: wilsonInterval(correct, withReference) };
  return out;
}

const normalize = (t: string) => t.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();

export async function evaluateCandidate(input: {
  task: TaskRuntime;
  test: readonly DatasetExample[];
  candidate: ChatModel;
  current?: ChatModel;
  gate: GateSettings;
  /** Remote students are called concurrently; in-process ones gain nothing from it. */
  concurrency?: number;
}): Promise<CandidateEvaluation> {
  const concurrency = input.concurrency ?? (input.candidate.hosting === 'in-process' ? 1 : 8);
  const candidate = await runArm(input.candidate, input.task, input.test, concurrency);
  const evaluation: CandidateEvaluation = { testExamples: input.test.length, candidate };
  if (input.current) {
    const current = await runArm(input.current, input.task, input.test, input.current.hosting === 'in-process' ? 1 : 8);
    evaluation.current = current;
    const differences = candidate.perExample.map((v, i) => v - current.perExample[i]!);
    evaluation.nonInferiority = nonInferiorityTest(differences, {
      margin: input.gate.nonInferiorityMargin,
      alpha: input.gate.alpha,
      minSamples: input.gate.minTestExamples,
    });
    if (input.task.parseLabel) {
      evaluation.mcnemar = mcnemarFromPairs(
        candidate.perExample.map((v) => v === 1),
        current.perExample.map((v) => v === 1),
      );
    }
  }
  return evaluation;
}

/** The task's quality gate, as data: every failed condition is a stored reason. */
export function decidePromotion(evaluation: CandidateEvaluation, gate: GateSettings): GateDecision {
  const reasons: string[] = [];
  const c = evaluation.candidate;
  if (evaluation.testExamples < gate.minTestExamples) {
    reasons.push(`only ${evaluation.testExamples} test examples (< ${gate.minTestExamples}): not enough evidence`);
  }
  if (c.agreement < gate.minAgreement) reasons.push(`agreement with teacher ${c.agreement.toFixed(4)} < ${gate.minAgreement}`);
  if (c.latency.count > 0 && c.latency.p95InMs > gate.maxP95LatencyInMs) {
    reasons.push(`p95 latency ${c.latency.p95InMs.toFixed(2)} ms > ${gate.maxP95LatencyInMs} ms`);
  }
  if (c.errors > 0) reasons.push(`${c.errors} test calls failed`);
  const ni = evaluation.nonInferiority;
  if (ni && ni.verdict !== 'non_inferior') {
    reasons.push(
      `not shown non-inferior to the current student at δ=${gate.nonInferiorityMargin} (verdict ${ni.verdict}, ` +
        `mean difference ${ni.meanDifference.toFixed(4)}, lower bound ${Number.isNaN(ni.lowerBound) ? 'n/a' : ni.lowerBound.toFixed(4)})`,
    );
  }
  if (reasons.length === 0) {
    return {
      promote: true,
      reasons: [
        `agreement ${c.agreement.toFixed(4)} ≥ ${gate.minAgreement}`,
        `p95 latency ${c.latency.p95InMs.toFixed(2)} ms ≤ ${gate.maxP95LatencyInMs} ms`,
        ni ? `non-inferior to the current student at δ=${gate.nonInferiorityMargin} (lower bound ${ni.lowerBound.toFixed(4)})` : 'no current student to compare with',
      ],
    };
  }
  return { promote: false, reasons };
}
