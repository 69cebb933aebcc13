import { invalidRequest } from '../errors.js';
import { PorterStemmer, type PorterMode } from './porter-stemmer.js';

// ROUGE as Google's rouge-score package computes it: `score(target, prediction)` with the
// reference first; its tokenizer (lowercase, non-[a-z0-9] to spaces, Porter stemming of tokens
// longer than 3 characters when asked); ROUGE-N on clipped n-gram counts; ROUGE-L on the LCS of
// the whole texts; ROUGE-Lsum on the union LCS of newline-separated sentences, with ROUGE 1.5.5's
// guard against counting a token twice.

export type RougeType = `rouge${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9}` | 'rougeL' | 'rougeLsum';

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

export interface RougeOptions {
  useStemmer?: boolean;
  /**
   * rouge-score constructs NLTK's `PorterStemmer()`, whose default mode is NLTK_EXTENSIONS; pick
   * ORIGINAL_ALGORITHM to stem as the 1980 paper (and ROUGE-1.5.5's Perl stemmer) does.
   */
  stemmerMode?: PorterMode;
}

const NON_ALPHANUMERIC = /[^a-z0-9]+/g;
const VALID_TOKEN = /^[a-z0-9]+$/;
const stemmers = new Map<PorterMode, PorterStemmer>();
function stemmerFor(mode: PorterMode): PorterStemmer {
  let s = stemmers.get(mode);
  if (!s) stemmers.set(mode, (s = new PorterStemmer(mode)));
  return s;
}

export function rougeTokenize(text: string, useStemmer = false, stemmerMode: PorterMode = 'NLTK_EXTENSIONS'): string[] {
  const tokens = text.toLowerCase().replace(NON_ALPHANUMERIC, ' ').split(/\s+/);
  const stemmer = useStemmer ? stemmerFor(stemmerMode) : undefined;
  const out: string[] = [];
  for (const token of tokens) {
    const t = stemmer && token.length > 3 ? stemmer.stem(token) : token;
    if (VALID_TOKEN.test(t)) out.push(t);
  }
  return out;
}

const fmeasure = (precision: number, recall: number) =>
  precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;

const ZERO: RougeScore = { precision: 0, recall: 0, fmeasure: 0 };

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = n === 1 ? tokens[i]! : tokens.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export function rougeN(targetTokens: readonly string[], predictionTokens: readonly string[], n: number): RougeScore {
  const target = ngramCounts(targetTokens, n);
  const prediction = ngramCounts(predictionTokens, n);
  let overlap = 0;
  for (const [g, c] of target) overlap += Math.min(c, prediction.get(g) ?? 0);
  const targetCount = Math.max(0, targetTokens.length - n + 1);
  const predictionCount = Math.max(0, predictionTokens.length - n + 1);
  const precision = overlap / Math.max(predictionCount, 1);
  const recall = overlap / Math.max(targetCount, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/**
 * Length of the longest common subsequence, bit-parallel (Allison–Dix / Crochemore et al.):
 * one machine word covers 32 positions of the first sequence, so 200 × 200 tokens take ~1,400
 * word operations instead of 40,000 DP cells. V' = (V + (V & M[c])) | (V & ~M[c]) with the carry
 * rippled across words; the LCS is the number of zero bits left in V.
 */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const ids = new Map<string, number>();
  for (const t of a) if (!ids.has(t)) ids.set(t, ids.size);
  const m = a.length;
  const words = (m + 31) >>> 5;
  const masks = new Uint32Array(ids.size * words);
  for (let i = 0; i < m; i++) masks[ids.get(a[i]!)! * words + (i >>> 5)]! |= 1 << (i & 31);
  const v = new Uint32Array(words).fill(0xffffffff);
  for (const token of b) {
    const id = ids.get(token);
    // A token absent from `a` has an empty mask and leaves V unchanged.
    if (id === undefined) continue;
    const base = id * words;
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const x = v[w]!;
      const mask = masks[base + w]!;
      const sum = x + ((x & mask) >>> 0) + carry;
      carry = sum > 0xffffffff ? 1 : 0;
      v[w] = (sum >>> 0) | (x & ~mask);
    }
  }
  let zeros = 0;
  for (let i = 0; i < m; i++) if ((v[i >>> 5]! & (1 << (i & 31))) === 0) zeros++;
  return zeros;
}

export function rougeL(targetTokens: readonly string[], predictionTokens: readonly string[]): RougeScore {
  if (targetTokens.length === 0 || predictionTokens.length === 0) return { ...ZERO };
  const lcs = lcsLength(targetTokens, predictionTokens);
  const precision = lcs / predictionTokens.length;
  const recall = lcs / targetTokens.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function lcsTable(ref: readonly string[], can: readonly string[]): Int32Array[] {
  const t: Int32Array[] = [];
  for (let i = 0; i <= ref.length; i++) t.push(new Int32Array(can.length + 1));
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      t[i]![j] = ref[i - 1] === can[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!);
    }
  }
  return t;
}

/** Indices into `ref` of one LCS, read back the way rouge-score's `_backtrack_norec` does. */
export function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const t = lcsTable(ref, can);
  let i = ref.length;
  let j = can.length;
  const out: number[] = [];
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if (t[i]![j - 1]! > t[i - 1]![j]!) j--;
    else i--;
  }
  return out.reverse();
}

export function unionLcs(ref: readonly string[], candidates: readonly (readonly string[])[]): string[] {
  const union = new Set<number>();
  for (const c of candidates) for (const i of lcsIndices(ref, c)) union.add(i);
  return [...union].sort((x, y) => x - y).map((i) => ref[i]!);
}

export function summaryLevelLcs(refSentences: readonly (readonly string[])[], canSentences: readonly (readonly string[])[]): RougeScore {
  if (refSentences.length === 0 || canSentences.length === 0) return { ...ZERO };
  const m = refSentences.reduce((s, x) => s + x.length, 0);
  const n = canSentences.reduce((s, x) => s + x.length, 0);
  if (m === 0 || n === 0) return { ...ZERO };
  const countsR = new Map<string, number>();
  const countsC = new Map<string, number>();
  for (const s of refSentences) for (const t of s) countsR.set(t, (countsR.get(t) ?? 0) + 1);
  for (const s of canSentences) for (const t of s) countsC.set(t, (countsC.get(t) ?? 0) + 1);
  let hits = 0;
  for (const r of refSentences) {
    for (const t of unionLcs(r, canSentences)) {
      const c = countsC.get(t) ?? 0;
      const rr = countsR.get(t) ?? 0;
      if (c > 0 && rr > 0) {
        hits++;
        countsC.set(t, c - 1);
        countsR.set(t, rr - 1);
      }
    }
  }
  const recall = hits / m;
  const precision = hits / n;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function sentences(text: string, useStemmer: boolean, mode: PorterMode): string[][] {
  return text
    .split('\n')
    .filter((s) => s.length > 0)
    .map((s) => rougeTokenize(s, useStemmer, mode));
}

const ROUGE_TYPE = /^rouge([1-9])$/;

/** rouge-score's `RougeScorer(types, use_stemmer).score(target, prediction)`. */
export function scoreRouge(
  target: string,
  prediction: string,
  types: readonly RougeType[] = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'],
  options: RougeOptions = {},
): Partial<Record<RougeType, RougeScore>> {
  if (typeof target !== 'string' || typeof prediction !== 'string') {
    throw invalidRequest('ROUGE needs a target and a prediction string.', 'target', 'invalid_metric_input');
  }
  const useStemmer = options.useStemmer ?? false;
  const mode = options.stemmerMode ?? 'NLTK_EXTENSIONS';
  const needsTokens = types.some((t) => t !== 'rougeLsum');
  const targetTokens = needsTokens ? rougeTokenize(target, useStemmer, mode) : [];
  const predictionTokens = needsTokens ? rougeTokenize(prediction, useStemmer, mode) : [];
  const result: Partial<Record<RougeType, RougeScore>> = {};
  for (const type of types) {
    if (type === 'rougeL') result[type] = rougeL(targetTokens, predictionTokens);
    else if (type === 'rougeLsum') result[type] = summaryLevelLcs(sentences(target, useStemmer, mode), sentences(prediction, useStemmer, mode));
    else {
      const match = ROUGE_TYPE.exec(type);
      if (!match) throw invalidRequest(`Invalid ROUGE type: ${String(type)}.`, 'types', 'invalid_metric_input');
      result[type] = rougeN(targetTokens, predictionTokens, Number(match[1]));
    }
  }
  return result;
}
