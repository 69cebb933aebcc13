// BLEU + chrF + ROUGE-L over 10,000 pairs of ~200 words (target: ≤ 5 s together), against a
// baseline pass of exact match over the same data, measured in the same run.
//
//   npx tsx bench/metrics.ts
//
// Prints the median of 3 runs per metric and the ratio to the baseline.

import { performance } from 'node:perf_hooks';
import { corpusBleu } from '../src/core/eval/bleu.js';
import { corpusChrf } from '../src/core/eval/chrf.js';
import { createRandom } from '../src/core/eval/random.js';
import { rougeL, rougeTokenize } from '../src/core/eval/rouge.js';
import { exactMatch } from '../src/core/eval/text-metrics.js';

const PAIRS = 10_000;
const WORDS = 200;
const RUNS = 3;

const random = createRandom(2026);
const vocabulary = Array.from({ length: 3000 }, (_, i) => {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let w = '';
  let n = 2 + Math.floor(random() * 8) + (i % 3);
  while (n-- > 0) w += letters[Math.floor(random() * 26)];
  return w;
});
// Zipf-like: frequent words are frequent, as in real text.
const word = () => vocabulary[Math.floor(vocabulary.length * random() ** 2.5)]!;
function sentence(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let w = word();
    if (i === 0) w = w[0]!.toUpperCase() + w.slice(1);
    if (random() < 0.06) w += ',';
    out.push(w);
  }
  out[out.length - 1] += '.';
  return out;
}
const references: string[] = [];
const hypotheses: string[] = [];
for (let p = 0; p < PAIRS; p++) {
  const ref = sentence(WORDS);
  // The hypothesis keeps ~75% of the words, substitutes the rest, and drops or adds a few.
  const hyp = ref.map((w) => (random() < 0.25 ? word() : w)).filter(() => random() > 0.03);
  references.push(ref.join(' '));
  hypotheses.push(hyp.join(' '));
}
const avgWords = hypotheses.reduce((s, h) => s + h.split(' ').length, 0) / PAIRS;

function time<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function bench<T>(name: string, fn: () => T): { name: string; ms: number; value: T } {
  const runs: number[] = [];
  let value!: T;
  for (let i = 0; i < RUNS; i++) {
    const r = time(fn);
    runs.push(r.ms);
    value = r.value;
  }
  return { name, ms: median(runs), value };
}

const baseline = bench('exact match (baseline)', () => hypotheses.reduce((s, h, i) => s + (exactMatch(h, references[i]!) ? 1 : 0), 0));
const bleu = bench('corpus BLEU (13a, exp)', () => corpusBleu(hypotheses, [references]).score);
const chrf = bench('corpus chrF2', () => corpusChrf(hypotheses, [references]).score);
const rouge = bench('ROUGE-L F (mean)', () => hypotheses.reduce((s, h, i) => s + rougeL(rougeTokenize(references[i]!), rougeTokenize(h)).fmeasure, 0) / PAIRS);
const total = bleu.ms + chrf.ms + rouge.ms;

console.log(`${PAIRS} pairs, ${avgWords.toFixed(0)} words per hypothesis on average; median of ${RUNS} runs; node ${process.version}`);
for (const r of [baseline, bleu, chrf, rouge]) {
  console.log(`${r.name.padEnd(24)} ${r.ms.toFixed(0).padStart(7)} ms   ×${(r.ms / baseline.ms).toFixed(0).padStart(5)} baseline   value ${Number(r.value).toFixed(4)}`);
}
console.log(`BLEU + chrF + ROUGE-L    ${total.toFixed(0).padStart(7)} ms   target ≤ 5000 ms: ${total <= 5000 ? 'met' : 'NOT met'}`);
