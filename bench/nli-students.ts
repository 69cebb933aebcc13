// NLI students on SICK: the n-gram (fastText-style) student over the concatenated text vs the
// pair-aware student (separate spaces per input, cross-unigrams/bigrams, overlap, negation), both
// trained on gold labels, against the majority-class baseline, in the same run; then the
// candidate search the job runs (both kinds, best on validation).
//
// Data: SICK (Marelli et al., 2014), CC BY-NC-SA 3.0 — NON-COMMERCIAL. It is read from
// ../shared/data/sick/sick.tsv (outside this repository) and must never be copied into it; this
// bench skips with a message when the file is absent.
//
//   npx tsx bench/nli-students.ts

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { trainCandidates } from '../src/adapters/onnx/train-candidates.js';
import { argmax, forwardStudent, type StudentWeights } from '../src/adapters/onnx/student-weights.js';
import { trainStudent, type TrainingExample } from '../src/adapters/onnx/train-student.js';
import { createFeaturizer } from '../src/core/tasks/featurizer.js';

const file = path.resolve(import.meta.dirname, '..', '..', 'shared', 'data', 'sick', 'sick.tsv');
if (!existsSync(file)) {
  console.log(`SKIPPED: ${file} not found. SICK (CC BY-NC-SA 3.0, non-commercial) is not shipped with this repository; put sick.tsv there to run this bench.`);
  process.exit(0);
}

const SEPARATOR = '\n';
const rows = readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
const split = (name: string): TrainingExample[] =>
  rows.filter((r) => r[4] === name).map((r) => ({ text: `${r[1]}${SEPARATOR}${r[2]}`, label: r[3]!.toLowerCase() }));
const train = split('TRAIN');
const validation = split('TRIAL');
const test = split('TEST');
const labels = ['entailment', 'neutral', 'contradiction'];

function accuracy(w: StudentWeights, set: readonly TrainingExample[]): number {
  const f = createFeaturizer(w.featurizer);
  let correct = 0;
  for (const ex of set) if (w.labels[argmax(forwardStudent(w, f.featurize(ex.text).ids).probabilities)] === ex.label) correct++;
  return correct / set.length;
}

function latencyInUs(w: StudentWeights): number {
  const f = createFeaturizer(w.featurizer);
  const t0 = performance.now();
  for (const ex of test) forwardStudent(w, f.featurize(ex.text).ids);
  return ((performance.now() - t0) / test.length) * 1000;
}

const counts = new Map<string, number>();
for (const ex of train) counts.set(ex.label!, (counts.get(ex.label!) ?? 0) + 1);
const majority = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
const majorityAccuracy = test.filter((e) => e.label === majority).length / test.length;

console.log(`SICK NLI (CC BY-NC-SA 3.0, read from ../shared, not shipped): ${train.length} train / ${validation.length} validation (TRIAL) / ${test.length} test`);
console.log(`majority baseline ('${majority}'): test accuracy ${majorityAccuracy.toFixed(4)}`);
const hp = { seed: 42, epochs: 20, early_stopping_patience: 4 };
for (const [name, extra] of [
  ['n-gram student (concatenated text)', {}],
  ['pair-aware student', { pair_separator: SEPARATOR, featurizer: 'pair' }],
] as const) {
  const t0 = performance.now();
  const r = trainStudent({ labels, train, validation }, { ...hp, ...extra });
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `${name.padEnd(36)} test accuracy ${accuracy(r.weights, test).toFixed(4)}  validation ${r.metrics.validationAccuracy.toFixed(4)}  ` +
      `train ${seconds.toFixed(1)} s  ${latencyInUs(r.weights).toFixed(1)} µs/example (featurize + forward, TS)`,
  );
}
const t0 = performance.now();
const chosen = trainCandidates({ labels, train, validation }, { ...hp, pair_separator: SEPARATOR });
console.log(
  `candidate search: ${chosen.candidates.map((c) => `${c.kind} ${c.validationAccuracy.toFixed(4)}${c.chosen ? ' (kept)' : ''}`).join(', ')}; ` +
    `test accuracy of the kept student ${accuracy(chosen.weights, test).toFixed(4)}; ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
