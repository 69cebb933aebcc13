import type { StudentHyperparameters } from '../../core/tasks/classification-task.js';
import { createFeaturizer } from '../../core/tasks/featurizer.js';
import { quantileSorted } from '../../core/eval/statistics.js';
import { exportStudentOnnx } from './export-student-onnx.js';
import { budgetCut } from './candidate-budget.js';
import { forwardStudent } from './student-weights.js';
import { parseHyperparameters, trainStudent, type TrainingData, type TrainingProgress, type TrainOptions, type TrainResult } from './train-student.js';
import type { EncoderCandidateInput, EncoderSkip } from './encoder-candidate.js';
import { invalidRequest } from '../../core/errors.js';
import { exportEncoderHeadOnnx, trainEncoderHead } from './encoder-head.js';

// Candidate kinds of the in-process student, chosen by validation: the n-gram (fastText-style)
// student always, the pair-aware one when the task has two inputs (`pair_separator`), and the
// convolutional one (conv-student.ts) unless `conv_filters` is 0. Each is trained with the same
// seed on the same data in a fixed order; the cheapest kind within one standard error of the best
// validation accuracy wins (oneStandardErrorChoice), so the choice is deterministic for a given
// dataset. A candidate is not started once the wall-clock budget is spent (the first always runs),
// nor the convolutional one when its projected time would overrun it (candidate-budget.ts):
// only a budget cut on a slow machine can change the choice, and the lineage records it. Each records its ONNX size
// and the latency of featurize + forward on validation texts, so the job report can weigh them.

// The encoder kind (encoder-head.ts) comes last, the costliest to serve; its embeddings are computed
// before this search (encoder-candidate.ts) and it is skipped, with the reason, when there are none.
export type CandidateKind = StudentHyperparameters['featurizer'] | 'encoder';

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
  /** Set when the time budget ran out before this candidate started, or the kind could not run (`reason` says why). */
  skipped?: 'budget' | 'not_configured' | 'unavailable';
  reason?: string;
}

export interface CandidatesResult extends TrainResult {
  candidates: CandidateRecord[];
}

export function candidateKinds(hp: StudentHyperparameters): CandidateKind[] {
  if (hp.encoder?.pinned) return ['encoder'];
  const kinds: CandidateKind[] = hp.pair_separator !== undefined ? ['ngrams', 'pair'] : [hp.featurizer === 'conv' ? 'ngrams' : hp.featurizer];
  if (hp.conv_filters > 0) kinds.push('conv');
  kinds.push('encoder');
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

export function trainCandidates(data: TrainingData, hyperparameters: unknown, options: TrainOptions & { encoder?: EncoderCandidateInput } = {}): CandidatesResult {
  const hp = parseHyperparameters(hyperparameters);
  const encoder = options.encoder && 'embeddings' in options.encoder ? options.encoder.embeddings : undefined;
  const encoderSkip = encoderSkipOf(hp, options.encoder);
  const kinds = candidateKinds(hp).filter((k) => k !== 'encoder' || encoder);
  if (kinds.length === 0) throw invalidRequest(`The encoder candidate is pinned but cannot run: ${encoderSkip?.reason}`, 'encoder');
  const started = Date.now();
  const texts = (data.validation?.length ? data.validation : data.train).slice(0, 200).map((e) => e.text);
  const results: { kind: CandidateKind; result: TrainResult; measured: ReturnType<typeof measure> }[] = [];
  const skippedByBudget: CandidateRecord[] = [];
  const workTexts = data.train.slice(0, 200).map((e) => e.text);
  for (const [i, kind] of kinds.entries()) {
    const cut = budgetCut(kind, hp, Date.now() - started, results.map((r) => ({ kind: r.kind, durationInMs: r.result.metrics.durationInMs, epochsRun: r.result.metrics.epochsRun })), { labels: data.labels.length, texts: workTexts });
    if (cut) {
      skippedByBudget.push({ kind, validationAccuracy: Number.NaN, validationLoss: Number.NaN, durationInMs: 0, chosen: false, skipped: 'budget', reason: cut });
      continue;
    }
    // One progress bar over all candidates: each candidate's epochs fill its share of it.
    const onProgress = options.onProgress && ((p: TrainingProgress) => options.onProgress!({ ...p, fraction: (i + p.fraction) / kinds.length }));
    const trainOptions = { ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}), ...(onProgress ? { onProgress } : {}) };
    if (kind === 'encoder') {
      const result = trainEncoderHead(data, hp, encoder!, trainOptions);
      const sizeInBytes = encoder!.reference.modelSizeInBytes + exportEncoderHeadOnnx(result.weights).byteLength;
      results.push({ kind, result, measured: { sizeInBytes, ...(encoder!.p50InMs !== undefined ? { p50InMs: encoder!.p50InMs, p99InMs: encoder!.p99InMs! } : {}) } });
      continue;
    }
    const result = trainStudent(data, { ...hp, featurizer: kind }, trainOptions);
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
  candidates.push(...skippedByBudget);
  if (encoderSkip) candidates.push({ kind: 'encoder', validationAccuracy: Number.NaN, validationLoss: Number.NaN, durationInMs: 0, chosen: false, ...encoderSkip });
  return { ...best.result, candidates };
}

/** Why the encoder kind is not in the search: the worker's reason, or none when no encoder step ran for a task without one. */
function encoderSkipOf(hp: StudentHyperparameters, input: EncoderCandidateInput | undefined): EncoderSkip | undefined {
  if (input) return 'embeddings' in input ? undefined : input;
  return hp.encoder ? { skipped: 'unavailable', reason: 'the encoder embeddings were not prepared (prepareEncoderCandidate)' } : undefined;
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
