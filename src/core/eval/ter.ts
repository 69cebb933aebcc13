import { checkStreams } from './bleu.js';
import { formatFixed } from './format-number.js';
import { pyRstrip, pySplit } from './python-whitespace.js';
import { TER_TOKENIZER_SIGNATURE, tokenizeTer, type TerTokenizerOptions } from './tokenizer-ter.js';
import { translationEditRate } from './ter-edit-rate.js';

// TER (Snover et al. 2006) as sacreBLEU 2.x computes it: the Tercom tokenizer, the fewest edits
// (insertions, deletions, substitutions and block shifts) over the references, divided by the
// average reference length; corpus TER sums both over segments.

export type TerOptions = TerTokenizerOptions;

/** Per segment: [fewest edits over the references, average reference length]. */
export type TerStatistics = [number, number];

export interface TerScore {
  /** 0–100 (and above: edits can outnumber reference words). */
  score: number;
  numEdits: number;
  refLength: number;
  /** e.g. "TER = 13.60" */
  formatted: string;
  signature: string;
}

function preprocess(text: string, options: TerOptions): string[] {
  return pySplit(tokenizeTer(pyRstrip(text), options));
}

/** Statistics of one hypothesis against its references (an empty reference has length 0). */
export function terStatistics(hypothesis: string, references: readonly string[], options: TerOptions = {}): TerStatistics {
  const hyp = preprocess(hypothesis, options);
  let best = Infinity;
  let refLengths = 0;
  for (const reference of references) {
    const [edits, refLength] = translationEditRate(hyp, preprocess(reference, options));
    refLengths += refLength;
    if (edits < best) best = edits;
  }
  if (references.length === 0) return [hyp.length, 0];
  return [best, refLengths / references.length];
}

/** sacreBLEU's `_compute_score_from_stats` for TER. */
export function terFromStatistics(stats: readonly number[], options: TerOptions & { nrefs?: number } = {}): TerScore {
  const numEdits = stats[0] ?? 0;
  const refLength = stats[1] ?? 0;
  // Empty references: any hypothesis word is a full error, nothing against nothing is none.
  const rate = refLength > 0 ? numEdits / refLength : numEdits > 0 ? 1 : 0;
  const score = 100 * rate;
  const signature = [
    `nrefs:${options.nrefs ?? 1}`,
    `case:${options.caseSensitive ? 'mixed' : 'lc'}`,
    `tok:${TER_TOKENIZER_SIGNATURE}`,
    `norm:${options.normalized ? 'yes' : 'no'}`,
    `punct:${options.noPunct ? 'no' : 'yes'}`,
    `asian:${options.asianSupport ? 'yes' : 'no'}`,
  ].join('|');
  return { score, numEdits, refLength, formatted: `TER = ${formatFixed(score, 2)}`, signature };
}

/** Corpus TER; `referenceStreams[k][i]` is the k-th reference of segment i (sacreBLEU layout). */
export function corpusTer(hypotheses: readonly string[], referenceStreams: readonly (readonly string[])[], options: TerOptions = {}): TerScore {
  checkStreams(hypotheses, referenceStreams);
  let edits = 0;
  let refLength = 0;
  for (let i = 0; i < hypotheses.length; i++) {
    const [e, r] = terStatistics(hypotheses[i]!, referenceStreams.map((s) => s[i]!), options);
    edits += e;
    refLength += r;
  }
  return terFromStatistics([edits, refLength], { ...options, nrefs: referenceStreams.length });
}

export function sentenceTer(hypothesis: string, references: readonly string[], options: TerOptions = {}): TerScore {
  return terFromStatistics(terStatistics(hypothesis, references, options), { ...options, nrefs: references.length });
}
