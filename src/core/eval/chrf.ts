import { formatFixed } from './format-number.js';
import { checkStreams } from './bleu.js';
import { splitWhitespace } from './tokenizer-13a.js';

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
const SURROGATE = /[\uD800-\uDFFF]/;

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
  for (const w of splitWhitespace(sentence)) {
    if (w.length === 1) out.push(w);
    else if (PUNCTUATION.has(w[w.length - 1]!)) out.push(w.slice(0, -1), w[w.length - 1]!);
    else if (PUNCTUATION.has(w[0]!)) out.push(w[0]!, w.slice(1));
    else out.push(w);
  }
  return out;
}

// Each order's n-grams are kept as a sorted array (packed numbers when the characters of the
// segment and its references fit a small alphabet, strings otherwise); the clipped match count of
// two multisets is then one merge walk. This is several times faster than hashing substrings.
type SortedNgrams = Float64Array | string[];

const MAX_PACKED_ALPHABET = 400; // 400^6 < 2^53

interface Prepared {
  chars: string[];
  words: string[] | undefined;
}

function prepare(sentence: string, o: Resolved): Prepared {
  const text = o.lowercase ? sentence.toLowerCase() : sentence;
  const line = o.whitespace ? text : splitWhitespace(text).join('');
  // Python indexes code points, hence Array.from when surrogate pairs are present.
  const chars = SURROGATE.test(line) ? Array.from(line) : line.split('');
  return { chars, words: o.wordOrder > 0 ? removePunctuation(text) : undefined };
}

function charNgrams(chars: readonly string[], o: Resolved, alphabet: Map<string, number> | undefined): SortedNgrams[] {
  const out: SortedNgrams[] = [];
  if (alphabet) {
    const base = alphabet.size;
    const ids = chars.map((c) => alphabet.get(c)!);
    let prev = Float64Array.from(ids);
    for (let n = 1; n <= o.charOrder; n++) {
      const len = Math.max(0, chars.length - n + 1);
      const cur = new Float64Array(len);
      if (n === 1) cur.set(prev.subarray(0, len));
      else for (let i = 0; i < len; i++) cur[i] = prev[i]! * base + ids[i + n - 1]!;
      prev = cur;
      out.push(cur.slice().sort());
    }
    return out;
  }
  for (let n = 1; n <= o.charOrder; n++) {
    const grams: string[] = [];
    for (let i = 0; i + n <= chars.length; i++) grams.push(chars.slice(i, i + n).join(''));
    out.push(grams.sort());
  }
  return out;
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

function ngrams(p: Prepared, o: Resolved, alphabet: Map<string, number> | undefined): SortedNgrams[] {
  const all = charNgrams(p.chars, o, alphabet);
  if (p.words) all.push(...wordNgrams(p.words, o));
  return all;
}

function sortedMatches(a: SortedNgrams, b: SortedNgrams): number {
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

function matchStatistics(hyp: SortedNgrams[], ref: SortedNgrams[]): ChrfStatistics {
  const stats: number[] = [];
  for (let k = 0; k < hyp.length; k++) {
    stats.push(hyp[k]!.length, ref[k]!.length, sortedMatches(hyp[k]!, ref[k]!));
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

/** Statistics of the best-scoring reference for one segment (empty references are missing). */
export function chrfStatistics(hypothesis: string, references: readonly string[], options: ChrfOptions = {}): ChrfStatistics {
  const o = resolve(options);
  const hyp = prepare(hypothesis, o);
  const refs = references.filter((r) => r !== '').map((r) => prepare(r, o));
  let alphabet: Map<string, number> | undefined = new Map();
  for (const p of [hyp, ...refs]) {
    for (const c of p.chars) if (!alphabet.has(c)) alphabet.set(c, alphabet.size);
  }
  if (alphabet.size > MAX_PACKED_ALPHABET) alphabet = undefined;
  const hypNgrams = ngrams(hyp, o, alphabet);
  let best: ChrfStatistics | undefined;
  let bestF = -1;
  for (const ref of refs) {
    const stats = matchStatistics(hypNgrams, ngrams(ref, o, alphabet));
    const f = chrfFromStatistics(stats, options);
    if (f > bestF) {
      bestF = f;
      best = stats;
    }
  }
  // No reference at all: only the hypothesis side counts.
  return best ?? matchStatistics(hypNgrams, hypNgrams.map(() => []));
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
