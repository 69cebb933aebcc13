import type { StudentHyperparameters } from '../../core/tasks/classification-task.js';
import { parseHyperparameters, trainStudent, type TrainingData, type TrainOptions, type TrainResult } from './train-student.js';

// Candidate kinds of the in-process student, chosen by validation: the n-gram (fastText-style)
// student always, and the pair-aware one when the task has two inputs (`pair_separator`). Each is
// trained with the same seed on the same data in a fixed order, and the best validation accuracy
// wins (ties: the earlier, cheaper kind), so the choice is deterministic for a given dataset. A
// candidate is not started once the wall-clock budget is spent (the first always runs).

export interface CandidateRecord {
  kind: StudentHyperparameters['featurizer'];
  validationAccuracy: number;
  validationLoss: number;
  durationInMs: number;
  chosen: boolean;
}

export interface CandidatesResult extends TrainResult {
  candidates: CandidateRecord[];
}

export function candidateKinds(hp: StudentHyperparameters): StudentHyperparameters['featurizer'][] {
  return hp.pair_separator !== undefined ? ['ngrams', 'pair'] : [hp.featurizer];
}

export function trainCandidates(data: TrainingData, hyperparameters: unknown, options: TrainOptions = {}): CandidatesResult {
  const hp = parseHyperparameters(hyperparameters);
  const kinds = candidateKinds(hp);
  const started = Date.now();
  const results: { kind: StudentHyperparameters['featurizer']; result: TrainResult }[] = [];
  for (const kind of kinds) {
    if (results.length > 0 && Date.now() - started > hp.candidate_budget_in_ms) break;
    results.push({ kind, result: trainStudent(data, { ...hp, featurizer: kind }, options) });
  }
  const score = (r: TrainResult) => (Number.isNaN(r.metrics.validationAccuracy) ? -1 : r.metrics.validationAccuracy);
  let best = results[0]!;
  for (const r of results.slice(1)) if (score(r.result) > score(best.result)) best = r;
  const candidates = results.map((r) => ({
    kind: r.kind,
    validationAccuracy: r.result.metrics.validationAccuracy,
    validationLoss: r.result.metrics.validationLoss,
    durationInMs: r.result.metrics.durationInMs,
    chosen: r === best,
  }));
  for (const k of kinds.slice(results.length)) candidates.push({ kind: k, validationAccuracy: Number.NaN, validationLoss: Number.NaN, durationInMs: 0, chosen: false });
  return { ...best.result, candidates };
}
