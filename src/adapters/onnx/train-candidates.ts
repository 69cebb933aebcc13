import type { StudentHyperparameters } from '../../core/tasks/classification-task.js';
import { createFeaturizer } from '../../core/tasks/featurizer.js';
import { quantileSorted } from '../../core/eval/statistics.js';
import { exportStudentOnnx } from './export-student-onnx.js';
import { forwardStudent } from './student-weights.js';
import { parseHyperparameters, trainStudent, type TrainingData, type TrainingProgress, type TrainOptions, type TrainResult } from './train-student.js';

// Candidate kinds of the in-process student, chosen by validation: the n-gram (fastText-style)
// student always, the pair-aware one when the task has two inputs (`pair_separator`), and the
// convolutional one (conv-student.ts) unless `conv_filters` is 0. Each is trained with the same
// seed on the same data in a fixed order; the cheapest kind within one standard error of the best
// validation accuracy wins (oneStandardErrorChoice), so the choice is deterministic for a given
// dataset. A candidate is not started once the wall-clock budget is spent (the first always runs):
// only a budget cut on a slow machine can change the choice, and the lineage records it. Each records its ONNX size
// and the latency of featurize + forward on validation texts, so the job report can weigh them.

export type CandidateKind = StudentHyperparameters['featurizer'];

export interface CandidateRecord {
  kind: CandidateKind;
  validationAccuracy: number;
  validationLoss: number;
  durationInMs: number;
  chosen: boolean;
  /** Size of the exported ONNX model. */
  sizeInBytes?: number;
  /** Featurize + forward pass (TypeScript reference) per example, on up to 200 validation texts. */
  p50InMs?: number;
  p99InMs?: number;
  /** Set when the time budget ran out before this candidate started. */
  skipped?: 'budget';
}

export interface CandidatesResult extends TrainResult {
  candidates: CandidateRecord[];
}

export function candidateKinds(hp: StudentHyperparameters): CandidateKind[] {
  const kinds: CandidateKind[] = hp.pair_separator !== undefined ? ['ngrams', 'pair'] : [hp.featurizer === 'conv' ? 'ngrams' : hp.featurizer];
  if (hp.conv_filters > 0) kinds.push('conv');
  return kinds;
}

/** Latency of featurize + forward over the texts (each timed alone), and the ONNX size. */
function measure(result: TrainResult, texts: readonly string[]): Pick<CandidateRecord, 'sizeInBytes' | 'p50InMs' | 'p99InMs'> {
  const featurizer = createFeaturizer(result.weights.featurizer);
  const times: number[] = [];
  for (const text of texts) {
    const t0 = performance.now();
    forwardStudent(result.weights, featurizer.featurize(text).ids);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return {
    sizeInBytes: exportStudentOnnx(result.weights).byteLength,
    ...(times.length ? { p50InMs: quantileSorted(times, 0.5), p99InMs: quantileSorted(times, 0.99) } : {}),
  };
}

export function trainCandidates(data: TrainingData, hyperparameters: unknown, options: TrainOptions = {}): CandidatesResult {
  const hp = parseHyperparameters(hyperparameters);
  const kinds = candidateKinds(hp);
  const started = Date.now();
  const texts = (data.validation?.length ? data.validation : data.train).slice(0, 200).map((e) => e.text);
  const results: { kind: CandidateKind; result: TrainResult; measured: ReturnType<typeof measure> }[] = [];
  for (const [i, kind] of kinds.entries()) {
    if (results.length > 0 && Date.now() - started > hp.candidate_budget_in_ms) break;
    // One progress bar over all candidates: each candidate's epochs fill its share of it.
    const onProgress = options.onProgress && ((p: TrainingProgress) => options.onProgress!({ ...p, fraction: (i + p.fraction) / kinds.length }));
    const result = trainStudent(data, { ...hp, featurizer: kind }, { ...options, ...(onProgress ? { onProgress } : {}) });
    results.push({ kind, result, measured: measure(result, texts) });
  }
  const best = results[oneStandardErrorChoice(results.map((r) => ({ accuracy: r.result.metrics.validationAccuracy, n: r.result.metrics.validationExamples })))]!;
  const candidates: CandidateRecord[] = results.map((r) => ({
    kind: r.kind,
    validationAccuracy: r.result.metrics.validationAccuracy,
    validationLoss: r.result.metrics.validationLoss,
    durationInMs: r.result.metrics.durationInMs,
    chosen: r === best,
    ...r.measured,
  }));
  for (const k of kinds.slice(results.length)) candidates.push({ kind: k, validationAccuracy: Number.NaN, validationLoss: Number.NaN, durationInMs: 0, chosen: false, skipped: 'budget' });
  return { ...best.result, candidates };
}

/**
 * The one-standard-error rule (Breiman et al.): among candidates in order of cost, keep the first
 * whose validation accuracy is within one standard error of the best. A costlier kind must win by
 * more than the noise of the validation split: on 153 validation rows a convolutional student that
 * won by 0.7 points generalised 7 points worse than the n-gram bag it displaced.
 */
export function oneStandardErrorChoice(candidates: readonly { accuracy: number; n: number }[]): number {
  const score = (c: { accuracy: number }) => (Number.isNaN(c.accuracy) ? -1 : c.accuracy);
  let best = 0;
  for (let i = 1; i < candidates.length; i++) if (score(candidates[i]!) > score(candidates[best]!)) best = i;
  const top = candidates[best]!;
  if (score(top) < 0 || top.n <= 0) return best;
  const se = Math.sqrt((top.accuracy * (1 - top.accuracy)) / top.n);
  return candidates.findIndex((c) => score(c) >= top.accuracy - se);
}
