import { formatFixed } from './format-number.js';
import { checkStreams } from './bleu.js';
import { charNgramStatistics } from './dense-ngram-matches.js';
import { pySplit } from './python-whitespace.js';

// chrF / chrF++ as sacreBLEU 2.x computes them: character n-grams up to 6 with whitespace removed,
// optional word n-grams (chrF++: word order 2) after sacreBLEU's primitive punctuation split,
// beta 2, the best reference per segment, and corpus statistics summed over segments. Without
// `epsSmoothing` (sacreBLEU's default) precision and recall are averaged over the orders that
// have n-grams; with it, chrF++.py's eps smoothing is used.

export interface ChrfOptions {
  charOrder?: number;
  /** 0 = chrF, 2 = chrF++. */
  wordOrder?: number;
  beta?: number;
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams (sacreBLEU `--chrf-whitespace`). */
  whitespace?: boolean;
  epsSmoothing?: boolean;
}

export interface ChrfScore {
  score: number;
  name: string;
  /** e.g. "chrF2 = 59.73" */
  formatted: string;
}

/** Per order: [hypCount, refCount, matchCount]. */
export type ChrfStatistics = number[];

const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

interface Resolved {
  charOrder: number;
  wordOrder: number;
  beta: number;
  lowercase: boolean;
  whitespace: boolean;
  epsSmoothing: boolean;
}

function resolve(options: ChrfOptions): Resolved {
  return {
    charOrder: options.charOrder ?? 6,
    wordOrder: options.wordOrder ?? 0,
    beta: options.beta ?? 2,
    lowercase: options.lowercase ?? false,
    whitespace: options.whitespace ?? false,
    epsSmoothing: options.epsSmoothing ?? false,
  };
}

/** sacreBLEU's chrF++ word split: peels one punctuation mark off the end, else off the start. */
function removePunctuation(sentence: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sentence)) {
    if (w.length === 1) out.push(w);
    else if (PUNCTUATION.has(w[w.length - 1]!)) out.push(w.slice(0, -1), w[w.length - 1]!);
    else if (PUNCTUATION.has(w[0]!)) out.push(w[0]!, w.slice(1));
    else out.push(w);
  }
  return out;
}

// Character n-grams are matched by `charNgramStatistics` (dense ids, plain arrays). Word n-grams
// (chrF++) are few and use sorted string arrays and a merge walk.

interface Prepared {
  /** The (lowercased) line; character n-gram extraction removes whitespace unless kept. */
  line: string;
  words: string[] | undefined;
}

function prepare(sentence: string, o: Resolved): Prepared {
  const text = o.lowercase ? sentence.toLowerCase() : sentence;
  return { line: text, words: o.wordOrder > 0 ? removePunctuation(text) : undefined };
}

function wordNgrams(words: readonly string[], o: Resolved): string[][] {
  const out: string[][] = [];
  for (let n = 1; n <= o.wordOrder; n++) {
    const grams: string[] = [];
    for (let i = 0; i + n <= words.length; i++) grams.push(words.slice(i, i + n).join(' '));
    out.push(grams.sort());
  }
  return out;
}

function sortedMatches(a: readonly string[], b: readonly string[]): number {
  let i = 0;
  let j = 0;
  let m = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      m++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return m;
}

/** Word-order statistics, with sacreBLEU's rule that an order the reference lacks counts nothing. */
function wordStatistics(hyp: string[][], ref: string[][]): number[] {
  const stats: number[] = [];
  for (let k = 0; k < hyp.length; k++) {
    const h = hyp[k]!;
    const r = ref[k]!;
    if (r.length === 0) stats.push(0, 0, 0);
    else stats.push(h.length, r.length, sortedMatches(h, r));
  }
  return stats;
}

/** sacreBLEU's `_compute_f_score`. */
export function chrfFromStatistics(stats: readonly number[], options: ChrfOptions = {}): number {
  const o = resolve(options);
  const order = o.charOrder + o.wordOrder;
  const eps = 1e-16;
  const factor = o.beta ** 2;
  let score = 0;
  let effectiveOrder = 0;
  let avgPrec = 0;
  let avgRec = 0;
  for (let i = 0; i < order; i++) {
    const nHyp = stats[3 * i] ?? 0;
    const nRef = stats[3 * i + 1] ?? 0;
    const nMatch = stats[3 * i + 2] ?? 0;
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgPrec += prec;
      avgRec += rec;
      effectiveOrder += 1;
    }
  }
  if (o.epsSmoothing) return (100 * score) / order;
  if (effectiveOrder === 0) {
    avgPrec = 0;
    avgRec = 0;
  } else {
    avgPrec /= effectiveOrder;
    avgRec /= effectiveOrder;
  }
  if (avgPrec + avgRec > 0) return (100 * ((1 + factor) * avgPrec * avgRec)) / (factor * avgPrec + avgRec);
  return 0;
}

/**
 * Statistics of the best-scoring reference for one segment (the first one on ties). As in
 * sacreBLEU 2.6, an empty reference is a reference with no n-grams, not a missing one.
 */
export function chrfStatistics(hypothesis: string, references: readonly string[], options: ChrfOptions = {}): ChrfStatistics {
  const o = resolve(options);
  const hyp = prepare(hypothesis, o);
  const refs = references.map((r) => prepare(r, o));
  const charStats = charNgramStatistics(hyp.line, refs.map((r) => r.line), o.charOrder, o.whitespace);
  const hypWords = hyp.words ? wordNgrams(hyp.words, o) : [];
  let best: ChrfStatistics | undefined;
  let bestF = -1;
  refs.forEach((ref, k) => {
    const stats = ref.words ? [...charStats[k]!, ...wordStatistics(hypWords, wordNgrams(ref.words, o))] : charStats[k]!;
    const f = chrfFromStatistics(stats, options);
    if (f > bestF) {
      bestF = f;
      best = stats;
    }
  });
  // No reference at all (sacreBLEU refuses this): nothing to compare, nothing counted.
  return best ?? new Array<number>(3 * (o.charOrder + o.wordOrder)).fill(0);
}

export function chrfName(options: ChrfOptions = {}): string {
  const o = resolve(options);
  return `chrF${o.beta}${'+'.repeat(o.wordOrder)}`;
}

function toScore(score: number, options: ChrfOptions): ChrfScore {
  const name = chrfName(options);
  return { score, name, formatted: `${name} = ${formatFixed(score, 2)}` };
}

/** Corpus chrF; `referenceStreams[k][i]` is the k-th reference of segment i (sacreBLEU layout). */
export function corpusChrf(hypotheses: readonly string[], referenceStreams: readonly (readonly string[])[], options: ChrfOptions = {}): ChrfScore {
  checkStreams(hypotheses, referenceStreams);
  const o = resolve(options);
  const sum = new Array<number>(3 * (o.charOrder + o.wordOrder)).fill(0);
  for (let i = 0; i < hypotheses.length; i++) {
    const stats = chrfStatistics(hypotheses[i]!, referenceStreams.map((s) => s[i]!), options);
    for (let k = 0; k < sum.length; k++) sum[k]! += stats[k]!;
  }
  return toScore(chrfFromStatistics(sum, options), options);
}

export function sentenceChrf(hypothesis: string, references: readonly string[], options: ChrfOptions = {}): ChrfScore {
  return toScore(chrfFromStatistics(chrfStatistics(hypothesis, references, options), options), options);
}
