import type { StudentHyperparameters } from '../../core/tasks/classification-task.js';
import { createFeaturizer } from '../../core/tasks/featurizer.js';
import { featurizerSettingsOf } from '../../core/tasks/classification-task.js';

// The candidate search's time budget. A candidate is not started once the budget is spent (the
// first always runs), and the convolutional one — about 2–3× the n-gram bag's time on short
// utterances — is not started either when its projected time would overrun the budget: the
// projection scales the n-gram candidate's measured time per epoch by the ratio of the two kinds'
// multiply-adds per example on this data (counted from the featurized texts, so deterministic)
// times the epochs the convolutional one may run. The skipped kind and the reason go into the
// candidate records, hence the lineage.

export interface FinishedCandidate {
  kind: string;
  durationInMs: number;
  epochsRun: number;
}

/** Multiply-adds of one training step (forward + backward + update) of a kind on these texts. */
export function workPerExample(kind: 'ngrams' | 'pair' | 'conv', hp: StudentHyperparameters, labels: number, texts: readonly string[]): number {
  if (texts.length === 0) return 1;
  const featurizer = createFeaturizer(featurizerSettingsOf({ ...hp, featurizer: kind }));
  let total = 0;
  for (const text of texts) {
    const L = featurizer.featurize(text).ids.length;
    if (kind !== 'conv') {
      const D = hp.embedding_dim;
      const H = hp.hidden_size;
      // Pool + embedding update over L ids; the dense layers forward, backward and update.
      total += 2 * L * D + (H > 0 ? 3 * D * H + 3 * H * labels : 3 * D * labels);
      continue;
    }
    const D = hp.conv_embedding_dim;
    const F = hp.conv_filters;
    // Every window position forward; the winning position backward (weights and embedding rows).
    for (const k of hp.conv_windows) total += Math.max(0, L - k + 1) * k * D * F + 2 * k * D * F;
    total += 3 * hp.conv_windows.length * F * labels;
  }
  return total / texts.length;
}

/**
 * Why the candidate `kind` should not start, or undefined when it may. `done` are the candidates
 * already trained, in order; `texts` a sample of the training texts for the work estimate.
 */
export function budgetCut(
  kind: string,
  hp: StudentHyperparameters,
  elapsedInMs: number,
  done: readonly FinishedCandidate[],
  work: { labels: number; texts: readonly string[] },
): string | undefined {
  if (done.length === 0) return undefined;
  const budget = hp.candidate_budget_in_ms;
  if (elapsedInMs > budget) return `the ${budget} ms budget was spent (${Math.round(elapsedInMs)} ms elapsed)`;
  if (kind !== 'conv') return undefined;
  const ref = done.find((d) => d.kind === 'ngrams' || d.kind === 'pair');
  if (!ref || ref.epochsRun === 0) return undefined;
  const ratio = workPerExample('conv', hp, work.labels, work.texts) / workPerExample(ref.kind as 'ngrams' | 'pair', hp, work.labels, work.texts);
  const projected = (ref.durationInMs / ref.epochsRun) * hp.epochs * ratio;
  if (elapsedInMs + projected <= budget) return undefined;
  return (
    `projected ${Math.round(projected)} ms (the ${ref.kind} candidate's ${Math.round(ref.durationInMs / ref.epochsRun)} ms per epoch × ${ratio.toFixed(2)} ` +
    `work per example × ${hp.epochs} epochs) would overrun the ${budget} ms budget at ${Math.round(elapsedInMs)} ms`
  );
}
