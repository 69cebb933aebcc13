import { formatFixed } from './format-number.js';
import { checkStreams } from './bleu.js';
import { NgramCountTable } from './ngram-count-table.js';
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

// Character n-grams are packed into numbers (base = the alphabet of the segment and its
// references, which almost always fits 400 symbols so 6 characters fit in 2^53) and matched with a
// reusable typed-array hash table: Σ min(count_hyp, count_ref) is "add the hypothesis, take the
// reference". Larger alphabets fall back to sorted string arrays and a merge walk. Word n-grams
// (chrF++) are few and use the merge walk.
type SortedNgrams = Float64Array | string[];

const MAX_PACKED_ALPHABET = 400; // 400^6 < 2^53
const table = new NgramCountTable(2048);

interface Prepared {
  /** The line itself when every character is one UTF-16 unit, else its code points. */
  chars: string | string[];
  words: string[] | undefined;
}

const WHITESPACE = /\s+/g;

function prepare(sentence: string, o: Resolved): Prepared {
  const text = o.lowercase ? sentence.toLowerCase() : sentence;
  const line = o.whitespace ? text : text.replace(WHITESPACE, '');
  // Python indexes code points, hence Array.from when surrogate pairs are present.
  const chars = SURROGATE.test(line) ? Array.from(line) : line;
  return { chars, words: o.wordOrder > 0 ? removePunctuation(text) : undefined };
}

// Alphabet ids of UTF-16 units, reused across calls (JavaScript runs one call at a time).
const unitIds = new Int32Array(65536).fill(-1);

function buildAlphabet(sides: readonly Prepared[]): { size: number; idOf: (s: string | string[], i: number) => number; release: () => void } | undefined {
  if (sides.every((p) => typeof p.chars === 'string')) {
    const used: number[] = [];
    for (const p of sides) {
      const line = p.chars as string;
      for (let i = 0; i < line.length; i++) {
        const u = line.charCodeAt(i);
        if (unitIds[u] === -1) {
          unitIds[u] = used.length;
          used.push(u);
        }
      }
    }
    const release = () => {
      for (const u of used) unitIds[u] = -1;
    };
    if (used.length > MAX_PACKED_ALPHABET) {
      release();
      return undefined;
    }
    return { size: used.length, idOf: (line, i) => unitIds[(line as string).charCodeAt(i)]!, release };
  }
  const map = new Map<string, number>();
  for (const p of sides) for (const c of p.chars) if (!map.has(c)) map.set(c, map.size);
  if (map.size > MAX_PACKED_ALPHABET) return undefined;
  return { size: map.size, idOf: (chars, i) => map.get((chars as string[])[i]!)!, release: () => undefined };
}

/** Per order, the packed codes (fast path) or the sorted n-gram strings (fallback). */
function charNgrams(chars: string | string[], o: Resolved, alphabet: ReturnType<typeof buildAlphabet>): SortedNgrams[] {
  const out: SortedNgrams[] = [];
  if (alphabet) {
    const base = alphabet.size;
    const ids = new Float64Array(chars.length);
    for (let i = 0; i < chars.length; i++) ids[i] = alphabet.idOf(chars, i);
    let prev = ids;
    for (let n = 1; n <= o.charOrder; n++) {
      const len = Math.max(0, chars.length - n + 1);
      const cur = new Float64Array(len);
      if (n === 1) cur.set(prev.subarray(0, len));
      else for (let i = 0; i < len; i++) cur[i] = prev[i]! * base + ids[i + n - 1]!;
      prev = cur;
      out.push(cur);
    }
    return out;
  }
  const list = typeof chars === 'string' ? chars.split('') : chars;
  for (let n = 1; n <= o.charOrder; n++) {
    const grams: string[] = [];
    for (let i = 0; i + n <= list.length; i++) grams.push(list.slice(i, i + n).join(''));
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

function ngrams(p: Prepared, o: Resolved, alphabet: ReturnType<typeof buildAlphabet>): SortedNgrams[] {
  const all = charNgrams(p.chars, o, alphabet);
  if (p.words) all.push(...wordNgrams(p.words, o));
  return all;
}

function sortedMatches(a: readonly (number | string)[] | Float64Array, b: readonly (number | string)[] | Float64Array): number {
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

// Low orders have few possible n-grams (base^n), so they are counted in a plain array.
const DIRECT_LIMIT = 1 << 14;
const direct = new Int32Array(DIRECT_LIMIT);

function clippedMatches(h: Float64Array, r: Float64Array, domain: number): number {
  if (domain <= DIRECT_LIMIT) {
    for (let i = 0; i < h.length; i++) direct[h[i]!]!++;
    let m = 0;
    for (let i = 0; i < r.length; i++) {
      const k = r[i]!;
      if (direct[k]! > 0) {
        direct[k]!--;
        m++;
      }
    }
    for (let i = 0; i < h.length; i++) direct[h[i]!] = 0;
    return m;
  }
  table.reset(h.length);
  for (let i = 0; i < h.length; i++) table.add(h[i]!);
  let m = 0;
  for (let i = 0; i < r.length; i++) if (table.take(r[i]!)) m++;
  return m;
}

function matchStatistics(hyp: SortedNgrams[], ref: SortedNgrams[], base = Infinity): ChrfStatistics {
  const stats: number[] = [];
  for (let k = 0; k < hyp.length; k++) {
    const h = hyp[k]!;
    const r = ref[k]!;
    // Packed arrays exist only for character orders, where index k is order k + 1.
    const m = h instanceof Float64Array && r instanceof Float64Array ? clippedMatches(h, r, base ** (k + 1)) : sortedMatches(h, r);
    stats.push(h.length, r.length, m);
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
  const alphabet = buildAlphabet([hyp, ...refs]);
  let best: ChrfStatistics | undefined;
  let bestF = -1;
  let hypNgrams: SortedNgrams[];
  try {
    hypNgrams = ngrams(hyp, o, alphabet);
    for (const ref of refs) {
      const stats = matchStatistics(hypNgrams, ngrams(ref, o, alphabet), alphabet?.size);
      const f = chrfFromStatistics(stats, options);
      if (f > bestF) {
        bestF = f;
        best = stats;
      }
    }
  } finally {
    alphabet?.release();
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
