// BLEU + chrF + ROUGE-L over 10,000 pairs of ~200 words (target: ≤ 5 s together), against
// baselines over the same data measured in the same run: exact match (one comparison per pair)
// and splitting every text into words (touches every character once, so it slows down with the
// machine and the ratio to it stays comparable on a shared, loaded machine).
//
//   npx tsx bench/metrics.ts
//
// Prints the median of 3 runs per metric (wall clock and CPU time of this process), the ratio of
// CPU times to the split baseline's (wall clock on a shared 2-core machine stretches with other
// people's load; CPU time much less), and the load average before the run.

import { availableParallelism, loadavg } from 'node:os';
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

function time<T>(fn: () => T): { ms: number; cpuMs: number; value: T } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, value };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function bench<T>(name: string, fn: () => T): { name: string; ms: number; cpuMs: number; value: T } {
  const runs: number[] = [];
  const cpuRuns: number[] = [];
  let value!: T;
  for (let i = 0; i < RUNS; i++) {
    const r = time(fn);
    runs.push(r.ms);
    cpuRuns.push(r.cpuMs);
    value = r.value;
  }
  return { name, ms: median(runs), cpuMs: median(cpuRuns), value };
}

const load = loadavg()[0]!;
const exact = bench('exact match (baseline)', () => hypotheses.reduce((s, h, i) => s + (exactMatch(h, references[i]!) ? 1 : 0), 0));
const baseline = bench('split words (baseline)', () => hypotheses.reduce((s, h, i) => s + h.split(' ').length + references[i]!.split(' ').length, 0));
const bleu = bench('corpus BLEU (13a, exp)', () => corpusBleu(hypotheses, [references]).score);
const chrf = bench('corpus chrF2', () => corpusChrf(hypotheses, [references]).score);
const rouge = bench('ROUGE-L F (mean)', () => hypotheses.reduce((s, h, i) => s + rougeL(rougeTokenize(references[i]!), rougeTokenize(h)).fmeasure, 0) / PAIRS);
const total = bleu.ms + chrf.ms + rouge.ms;
const totalCpu = bleu.cpuMs + chrf.cpuMs + rouge.cpuMs;

console.log(`${PAIRS} pairs, ${avgWords.toFixed(0)} words per hypothesis on average; median of ${RUNS} runs; node ${process.version}; load average ${load.toFixed(2)} on ${availableParallelism()} cores`);
console.log(`${'measure'.padEnd(24)} ${'wall ms'.padStart(8)} ${'cpu ms'.padStart(8)}   cpu ÷ split baseline cpu   value`);
for (const r of [exact, baseline, bleu, chrf, rouge]) {
  const ratio = (r.cpuMs / baseline.cpuMs).toFixed(1);
  console.log(`${r.name.padEnd(24)} ${r.ms.toFixed(0).padStart(8)} ${r.cpuMs.toFixed(0).padStart(8)}   ×${ratio.padStart(6)}                    ${Number(r.value).toFixed(4)}`);
}
console.log(
  `${'BLEU + chrF + ROUGE-L'.padEnd(24)} ${total.toFixed(0).padStart(8)} ${totalCpu.toFixed(0).padStart(8)}   ×${(totalCpu / baseline.cpuMs).toFixed(1).padStart(6)}   ` +
    `target ≤ 5000 ms wall: ${total <= 5000 ? 'met' : 'NOT met'} (cpu ${totalCpu <= 5000 ? 'within' : 'over'})`,
);
