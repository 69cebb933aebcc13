import { invalidRequest } from '../errors.js';

// Classification metrics over (predicted, actual) label pairs. "Agreement" is accuracy with the
// teacher's label as the actual one. Precision/recall of a class with no predictions (or no
// instances) is 0, as scikit-learn reports with zero_division=0; macro-F1 averages over every
// label seen on either side.

export interface LabelPair {
  predicted: string;
  actual: string;
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Instances whose actual label is this class. */
  support: number;
}

export interface ConfusionMatrix {
  labels: string[];
  /** matrix[i][j]: actual labels[i] predicted as labels[j]. */
  matrix: number[][];
}

export interface ClassificationMetrics {
  count: number;
  correct: number;
  accuracy: number;
  macroF1: number;
  macroPrecision: number;
  macroRecall: number;
  perClass: Record<string, ClassMetrics>;
  confusion: ConfusionMatrix;
}

export function classificationMetrics(pairs: readonly LabelPair[], labels?: readonly string[]): ClassificationMetrics {
  if (!Array.isArray(pairs)) throw invalidRequest('Label pairs must be an array.', 'pairs', 'invalid_metric_input');
  const seen = new Set<string>(labels ?? []);
  for (const p of pairs) {
    if (typeof p?.predicted !== 'string' || typeof p?.actual !== 'string') {
      throw invalidRequest('Every label pair needs string `predicted` and `actual`.', 'pairs', 'invalid_metric_input');
    }
    seen.add(p.actual);
    seen.add(p.predicted);
  }
  const all = labels ? [...labels, ...[...seen].filter((l) => !labels.includes(l)).sort()] : [...seen].sort();
  const index = new Map(all.map((l, i) => [l, i]));
  const matrix = all.map(() => new Array<number>(all.length).fill(0));
  let correct = 0;
  for (const p of pairs) {
    matrix[index.get(p.actual)!]![index.get(p.predicted)!]!++;
    if (p.actual === p.predicted) correct++;
  }
  const perClass: Record<string, ClassMetrics> = {};
  let sumP = 0;
  let sumR = 0;
  let sumF = 0;
  all.forEach((label, i) => {
    const tp = matrix[i]![i]!;
    const support = matrix[i]!.reduce((s, x) => s + x, 0);
    const predicted = matrix.reduce((s, row) => s + row[i]!, 0);
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass[label] = { precision, recall, f1, support };
    sumP += precision;
    sumR += recall;
    sumF += f1;
  });
  const k = all.length || 1;
  return {
    count: pairs.length,
    correct,
    accuracy: pairs.length > 0 ? correct / pairs.length : 0,
    macroF1: sumF / k,
    macroPrecision: sumP / k,
    macroRecall: sumR / k,
    perClass,
    confusion: { labels: all, matrix },
  };
}
