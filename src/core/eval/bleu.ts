import { invalidRequest } from '../errors.js';
import { formatFixed } from './format-number.js';
import { singleReferenceStatistics } from './dense-ngram-matches.js';
import { NgramCountTable } from './ngram-count-table.js';
import { pyRstrip } from './python-whitespace.js';
import { bleuTokens, type BleuTokenizerName } from './tokenizers.js';

// BLEU as sacreBLEU 2.x computes it (13a tokenizer, exp smoothing, max order 4, closest
// reference length with ties to the shorter one), so figures quoted here can be compared with
// published sacreBLEU scores. The score string is sacreBLEU's format, digit for digit.

export const BLEU_MAX_ORDER = 4;

export interface BleuOptions {
  /** Lowercase before tokenizing (sacreBLEU `-lc`). Default false. */
  lowercase?: boolean;
  /** sacreBLEU's effective order: average only the n-gram orders the hypothesis has. */
  effectiveOrder?: boolean;
  /** sacreBLEU's smoothing methods; the default is 'exp'. */
  smoothMethod?: 'exp' | 'none' | 'floor' | 'add-k';
  /** For 'floor' (default 0.1) and 'add-k' (default 1). */
  smoothValue?: number;
  /** sacreBLEU's `tokenize`; default '13a'. */
  tokenize?: BleuTokenizerName;
  /** sacreBLEU's `max_ngram_order`; default 4. Statistics then hold 2 + 2 × order numbers. */
  maxNgramOrder?: number;
}

export interface BleuScore {
  score: number;
  counts: number[];
  totals: number[];
  precisions: number[];
  bp: number;
  sysLen: number;
  refLen: number;
  ratio: number;
  /** "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)" */
  formatted: string;
  signature: string;
}

/**
 * Sufficient statistics of one segment: [hypLen, refLen, match1..N, total1..N] (N = max order).
 * Summing them over segments and calling `bleuFromStatistics` gives corpus BLEU, which is what the
 * paired bootstrap resamples.
 */
export type BleuStatistics = number[];

// N-grams are keyed by numbers, not joined strings. With one reference (the usual case) every
// n-gram gets a dense id and counts live in plain arrays (dense-ngram-matches.ts). With several,
// token ids from a per-segment vocabulary are packed as base-V digits with the order in the low
// digit, and clipped counts come from a reusable typed-array hash table ("add the references' max
// counts, take the hypothesis"); vocabularies too large to pack exactly (V^N · N beyond 2^53)
// fall back to string keys in a Map.
const refTable = new NgramCountTable(4096);
const oneRefTable = new NgramCountTable(4096);

function maxOrderOf(options: BleuOptions): number {
  const order = options.maxNgramOrder ?? BLEU_MAX_ORDER;
  if (!Number.isInteger(order) || order < 1 || order > 32) {
    throw invalidRequest('maxNgramOrder must be an integer from 1 to 32.', 'maxNgramOrder', 'invalid_metric_input');
  }
  return order;
}

function canPack(vocabSize: number, maxOrder: number): boolean {
  return Math.pow(vocabSize, maxOrder) * maxOrder <= Number.MAX_SAFE_INTEGER;
}

function forEachNgram(ids: Int32Array, vocabSize: number, maxOrder: number, fn: (key: number, n: number) => void): void {
  for (let i = 0; i < ids.length; i++) {
    let code = 0;
    for (let n = 1; n <= maxOrder && i + n <= ids.length; n++) {
      code = code * vocabSize + ids[i + n - 1]!;
      fn(code * maxOrder + (n - 1), n);
    }
  }
}

function stringNgrams(ids: Int32Array, maxOrder: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) {
    for (let n = 1; n <= maxOrder && i + n <= ids.length; n++) {
      const key = `${n}:${ids.subarray(i, i + n).join(',')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

function closestRefLength(hypLen: number, refLens: readonly number[]): number {
  let closestDiff = -1;
  let closestLen = -1;
  for (const refLen of refLens) {
    const diff = Math.abs(hypLen - refLen);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      closestLen = refLen;
    } else if (diff === closestDiff && refLen < closestLen) {
      closestLen = refLen;
    }
  }
  return closestLen === -1 ? 0 : closestLen;
}

/** sacreBLEU's `_preprocess_segment` followed by `str.split()`. */
function preprocess(text: string, options: BleuOptions): string[] {
  return bleuTokens(options.tokenize ?? '13a')(pyRstrip(options.lowercase ? text.toLowerCase() : text));
}

/**
 * Statistics of one hypothesis against its references. An empty reference is a reference of
 * length 0, as in sacreBLEU 2.6 (it only drops `None`).
 */
export function bleuStatistics(hypothesis: string, references: readonly string[], options: BleuOptions = {}): BleuStatistics {
  const maxOrder = maxOrderOf(options);
  const vocab = new Map<string, number>();
  const toIds = (tokens: string[]) => {
    const ids = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      let id = vocab.get(t);
      if (id === undefined) vocab.set(t, (id = vocab.size));
      ids[i] = id;
    }
    return ids;
  };
  const hyp = toIds(preprocess(hypothesis, options));
  const refs = references.map((r) => toIds(preprocess(r, options)));
  const vocabSize = Math.max(1, vocab.size);
  const stats = new Array<number>(2 + 2 * maxOrder).fill(0);
  stats[0] = hyp.length;
  stats[1] = closestRefLength(hyp.length, refs.map((r) => r.length));
  if (refs.length === 1) {
    const perOrder = singleReferenceStatistics(hyp, refs[0]!, vocabSize, maxOrder, 'count-hypothesis');
    for (let n = 0; n < maxOrder; n++) {
      stats[2 + maxOrder + n] = perOrder[3 * n]!;
      stats[2 + n] = perOrder[3 * n + 2]!;
    }
  } else if (canPack(vocabSize, maxOrder)) packedMatches(hyp, refs, vocabSize, maxOrder, stats);
  else stringMatches(hyp, refs, maxOrder, stats);
  return stats;
}

function packedMatches(hyp: Int32Array, refs: readonly Int32Array[], vocabSize: number, maxOrder: number, stats: number[]): void {
  refTable.reset(refs.reduce((s, r) => s + maxOrder * r.length, 0));
  if (refs.length === 1) forEachNgram(refs[0]!, vocabSize, maxOrder, (key) => refTable.add(key));
  else {
    for (const ref of refs) {
      oneRefTable.reset(maxOrder * ref.length);
      forEachNgram(ref, vocabSize, maxOrder, (key) => oneRefTable.add(key));
      for (const [key, count] of oneRefTable.entries()) refTable.max(key, count);
    }
  }
  forEachNgram(hyp, vocabSize, maxOrder, (key, n) => {
    stats[2 + maxOrder + n - 1]!++;
    if (refTable.take(key)) stats[2 + n - 1]!++;
  });
}

function stringMatches(hyp: Int32Array, refs: readonly Int32Array[], maxOrder: number, stats: number[]): void {
  const maxRefCounts = new Map<string, number>();
  for (const ref of refs) {
    for (const [key, count] of stringNgrams(ref, maxOrder)) {
      if ((maxRefCounts.get(key) ?? 0) < count) maxRefCounts.set(key, count);
    }
  }
  for (const [key, count] of stringNgrams(hyp, maxOrder)) {
    const n = Number(key.slice(0, key.indexOf(':')));
    stats[2 + n - 1]! += Math.min(count, maxRefCounts.get(key) ?? 0);
    stats[2 + maxOrder + n - 1]! += count;
  }
}

function myLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

/** Computes BLEU from (summed) statistics exactly as sacreBLEU's `compute_bleu`. */
export function bleuFromStatistics(stats: readonly number[], options: BleuOptions & { nrefs?: number | 'var' } = {}): BleuScore {
  const maxOrder = maxOrderOf(options);
  const sysLen = stats[0] ?? 0;
  const refLen = stats[1] ?? 0;
  const counts = Array.from({ length: maxOrder }, (_, i) => stats[2 + i] ?? 0);
  const totals = Array.from({ length: maxOrder }, (_, i) => stats[2 + maxOrder + i] ?? 0);
  const smooth = options.smoothMethod ?? 'exp';
  const smoothValue = options.smoothValue ?? (smooth === 'floor' ? 0.1 : smooth === 'add-k' ? 1 : 0);
  const precisions = new Array<number>(maxOrder).fill(0);
  let smoothMteval = 1;
  let effOrder = maxOrder;
  // sacreBLEU returns 0 outright when nothing matches at all (its issue #141), whatever the smoothing.
  const anyMatch = counts.some((c) => c > 0);

  for (let n = 1; n <= maxOrder && anyMatch; n++) {
    if (smooth === 'add-k' && n > 1) {
      counts[n - 1]! += smoothValue;
      totals[n - 1]! += smoothValue;
    }
    if (totals[n - 1] === 0) break;
    if (options.effectiveOrder) effOrder = n;
    if (counts[n - 1] === 0) {
      if (smooth === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * totals[n - 1]!);
      } else if (smooth === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / totals[n - 1]!;
      }
    } else {
      precisions[n - 1] = (100 * counts[n - 1]!) / totals[n - 1]!;
    }
  }

  let bp = 1;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += myLog(precisions[i]!);
  const score = anyMatch ? bp * Math.exp(logSum / effOrder) : 0;
  const ratio = refLen > 0 ? sysLen / refLen : 0;

  const precisionText = precisions.map((p) => formatFixed(p, 1)).join('/');
  const formatted =
    `BLEU = ${formatFixed(score, 2)} ${precisionText} ` +
    `(BP = ${formatFixed(bp, 3)} ratio = ${formatFixed(ratio, 3)} hyp_len = ${sysLen} ref_len = ${refLen})`;
  return { score, counts, totals, precisions, bp, sysLen, refLen, ratio, formatted, signature: bleuSignature(options) };
}

function bleuSignature(options: BleuOptions & { nrefs?: number | 'var' }): string {
  const smooth = options.smoothMethod ?? 'exp';
  const smoothDefault = smooth === 'floor' ? 0.1 : smooth === 'add-k' ? 1 : undefined;
  const smoothText = smoothDefault === undefined ? smooth : `${smooth}[${formatFixed(options.smoothValue ?? smoothDefault, 2)}]`;
  return [
    `nrefs:${options.nrefs ?? 1}`,
    `case:${options.lowercase ? 'lc' : 'mixed'}`,
    `eff:${options.effectiveOrder ? 'yes' : 'no'}`,
    `tok:${options.tokenize ?? '13a'}`,
    `smooth:${smoothText}`,
  ].join('|');
}

/** Adds statistics vectors element-wise (into a new array). */
export function sumStatistics(rows: Iterable<readonly number[]>, width: number): number[] {
  const sum = new Array<number>(width).fill(0);
  for (const row of rows) for (let i = 0; i < width; i++) sum[i]! += row[i] ?? 0;
  return sum;
}

/**
 * Corpus BLEU. `referenceStreams` follows sacreBLEU: `referenceStreams[k][i]` is the k-th
 * reference of segment i (every stream as long as the hypotheses). As in sacreBLEU 2.6, an empty
 * string is a reference of length 0, not a missing one.
 */
export function corpusBleu(hypotheses: readonly string[], referenceStreams: readonly (readonly string[])[], options: BleuOptions = {}): BleuScore {
  checkStreams(hypotheses, referenceStreams);
  const stats = new Array<number>(2 + 2 * maxOrderOf(options)).fill(0);
  for (let i = 0; i < hypotheses.length; i++) {
    const seg = bleuStatistics(hypotheses[i]!, referenceStreams.map((stream) => stream[i]!), options);
    for (let k = 0; k < stats.length; k++) stats[k]! += seg[k]!;
  }
  return bleuFromStatistics(stats, { ...options, nrefs: referenceStreams.length });
}

/** Sentence BLEU with sacreBLEU's sentence defaults: exp smoothing and effective order. */
export function sentenceBleu(hypothesis: string, references: readonly string[], options: BleuOptions = {}): BleuScore {
  const opts = { effectiveOrder: true, ...options };
  return bleuFromStatistics(bleuStatistics(hypothesis, references, opts), { ...opts, nrefs: references.length });
}

export function checkStreams(hypotheses: readonly string[], referenceStreams: readonly (readonly string[])[]): void {
  if (!Array.isArray(hypotheses) || hypotheses.some((h) => typeof h !== 'string')) {
    throw invalidRequest('Hypotheses must be an array of strings.', 'hypotheses', 'invalid_metric_input');
  }
  if (!Array.isArray(referenceStreams) || referenceStreams.length === 0) {
    throw invalidRequest('At least one reference stream is required.', 'references', 'invalid_metric_input');
  }
  for (const stream of referenceStreams) {
    if (!Array.isArray(stream) || stream.length !== hypotheses.length || stream.some((r) => typeof r !== 'string')) {
      throw invalidRequest(
        'Every reference stream must be an array of strings as long as the hypotheses.',
        'references',
        'invalid_metric_input',
      );
    }
  }
}
