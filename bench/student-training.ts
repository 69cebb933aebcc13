// Student training benchmark: time to train the CLINC150 student on its 15,000 training rows
// (gold labels as the teacher), with the 3,000 validation rows for early stopping, and the
// accuracy it reaches on the 4,500-row in-scope test split. Target: ≤ 20 s on 2 cores.
// Baseline in the same run: the same trainer with words and word bigrams only (no char n-grams),
// to show what the subword features cost and buy. Also: the same training in a worker thread.
//
//   npx tsx bench/student-training.ts

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createFeaturizer } from '../src/core/tasks/featurizer.js';
import { argmax, forwardStudent, type StudentWeights } from '../src/adapters/onnx/student-weights.js';
import { trainStudentInWorker } from '../src/adapters/onnx/train-student-in-worker.js';
import { trainStudent, type TrainingExample } from '../src/adapters/onnx/train-student.js';

type Row = [string, string];
const data = JSON.parse(readFileSync(new URL('../data/clinc150/data_full.json', import.meta.url), 'utf8')) as Record<string, Row[]>;
const toExamples = (rows: Row[]): TrainingExample[] => rows.map(([text, label]) => ({ text, label }));
const labels = [...new Set(data.train!.map((r) => r[1]))].sort();
const train = toExamples(data.train!);
const validation = toExamples(data.val!);

function accuracy(w: StudentWeights): number {
  const f = createFeaturizer(w.featurizer);
  let correct = 0;
  for (const [text, label] of data.test!) if (w.labels[argmax(forwardStudent(w, f.featurize(text).ids).probabilities)] === label) correct++;
  return correct / data.test!.length;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function bench(name: string, hp: Record<string, unknown>) {
  const times: number[] = [];
  let last: ReturnType<typeof trainStudent> | undefined;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    last = trainStudent({ labels, train, validation }, hp);
    times.push(performance.now() - t0);
  }
  const acc = accuracy(last!.weights);
  const m = last!.metrics;
  console.log(
    `${name.padEnd(34)} median ${(median(times) / 1000).toFixed(2)} s  (runs: ${times.map((t) => (t / 1000).toFixed(2)).join(', ')})  ` +
      `epochs ${m.epochsRun} (best ${m.bestEpoch})  ${(median(times) / m.epochsRun / 1000).toFixed(2)} s/epoch  test acc ${acc.toFixed(4)}`,
  );
  return { median: median(times), acc };
}

console.log(`CLINC150 student training — ${train.length} train rows, ${validation.length} validation, ${data.test!.length} test; ` +
  `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}`);
const full = bench('default (words+bigrams+char 3-5)', {});
const words = bench('baseline: words+bigrams only', { char_ngram_min: 0, char_ngram_max: 0 });
const hidden = bench('with a 64-unit ReLU layer (lr 0.2)', { hidden_size: 64, learning_rate: 0.2 });

const t0 = performance.now();
const inWorker = await trainStudentInWorker({ labels, train, validation }, {});
const workerMs = performance.now() - t0;
console.log(`${'default, in a worker thread'.padEnd(34)} ${(workerMs / 1000).toFixed(2)} s (1 run)  test acc ${accuracy(inWorker.weights).toFixed(4)}`);

console.log('');
console.log(`ratio default / words-only baseline: time ×${(full.median / words.median).toFixed(2)}, accuracy ${(full.acc - words.acc >= 0 ? '+' : '')}${((full.acc - words.acc) * 100).toFixed(1)} points`);
console.log(`ratio hidden-layer / default: time ×${(hidden.median / full.median).toFixed(2)}`);
console.log(`ratio worker / main thread: ×${(workerMs / full.median).toFixed(2)}`);
console.log(`target ≤ 20 s: ${full.median <= 20_000 ? 'met' : 'MISSED'}`);
