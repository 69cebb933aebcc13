// Features of a task with two inputs (NLI premise/hypothesis, QA question/context): the classic
// lexicalized NLI classifier (Bowman et al., 2015, §3.1) as hashed bucket ids for the same
// embedding-bag student. A bag of n-grams over the concatenated text cannot tell "a man sleeps /
// nobody sleeps" from "nobody sleeps / a man sleeps"; these can:
//   - each input's words and bigrams in its own hashed space;
//   - cross-unigrams (a, b) and cross-bigrams (a1 a2, b1 b2) of every pair across the inputs;
//   - overlap: share of the second input's words found in the first (binned), count of unmatched
//     words (binned), and the unmatched words themselves (what the hypothesis adds);
//   - negation in either input, and whether only one side negates.
// Deterministic FNV-1a as in featurizer.ts, with kind tags of its own so no space collides.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const step = (h: number, c: number): number => Math.imul(h ^ c, FNV_PRIME);

const KIND = { A: 11, B: 12, A_BIGRAM: 13, B_BIGRAM: 14, CROSS: 15, CROSS_BIGRAM: 16, OVERLAP: 17, UNMATCHED: 18, NEGATION: 19, UNMATCHED_COUNT: 20 } as const;

// Normalized forms (apostrophes dropped by normalizeText: "don't" → "dont").
const NEGATIONS = new Set([
  'no', 'not', 'nobody', 'nothing', 'none', 'never', 'neither', 'nor', 'nowhere', 'cannot', 'without',
  'dont', 'doesnt', 'didnt', 'isnt', 'arent', 'wasnt', 'werent', 'wont', 'cant', 'couldnt', 'hasnt', 'havent', 'shouldnt',
]);

function hashWords(kind: number, ...words: string[]): number {
  let h = step(FNV_OFFSET, kind);
  for (let k = 0; k < words.length; k++) {
    if (k > 0) h = step(h, 0x20);
    const w = words[k]!;
    for (let i = 0; i < w.length; i++) h = step(h, w.charCodeAt(i));
  }
  return h;
}

const bigrams = (words: readonly string[]): [string, string][] => words.slice(1).map((w, i) => [words[i]!, w]);

/** Splits at the first separator; without one, the whole text is the first input. */
export function splitPair(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** Same shape as featurizer.ts's Features (not imported: featurizer.ts imports this file). */
export function pairFeatures(a: readonly string[], b: readonly string[], buckets: number): { ids: Int32Array; tokenCount: number } {
  const ids: number[] = [];
  const add = (h: number) => ids.push((h >>> 0) % buckets);
  for (const w of a) add(hashWords(KIND.A, w));
  for (const w of b) add(hashWords(KIND.B, w));
  const ba = bigrams(a);
  const bb = bigrams(b);
  for (const [x, y] of ba) add(hashWords(KIND.A_BIGRAM, x, y));
  for (const [x, y] of bb) add(hashWords(KIND.B_BIGRAM, x, y));
  for (const x of a) for (const y of b) add(hashWords(KIND.CROSS, x, y));
  for (const [x1, x2] of ba) for (const [y1, y2] of bb) add(hashWords(KIND.CROSS_BIGRAM, x1, x2, y1, y2));

  const inA = new Set(a);
  const unmatched = b.filter((w) => !inA.has(w));
  const overlap = b.length ? (b.length - unmatched.length) / b.length : 0;
  add(hashWords(KIND.OVERLAP, String(Math.min(9, Math.floor(overlap * 10)))));
  add(hashWords(KIND.UNMATCHED_COUNT, String(Math.min(5, unmatched.length))));
  for (const w of new Set(unmatched)) add(hashWords(KIND.UNMATCHED, w));
  const negA = a.some((w) => NEGATIONS.has(w));
  const negB = b.some((w) => NEGATIONS.has(w));
  add(hashWords(KIND.NEGATION, `a${negA ? 1 : 0}b${negB ? 1 : 0}`));
  if (negA !== negB) add(hashWords(KIND.NEGATION, 'mismatch'));
  return { ids: Int32Array.from(ids), tokenCount: a.length + b.length };
}
