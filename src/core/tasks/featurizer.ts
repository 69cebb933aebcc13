import { invalidRequest } from '../errors.js';
import { featurizerSettingsSchema, type FeaturizerSettings } from './classification-task.js';
import { pairFeatures, splitPair } from './pair-featurizer.js';

// The one featurizer of the in-process student, shared by the trainer and by serving so the two
// can never disagree: normalize, split into words, then hash words, word n-grams and the char
// n-grams of `<word>` (fastText's subword trick, which makes typos and unseen inflections land
// near known words) into a fixed number of buckets. Pure code: no I/O, deterministic.
//
// Hash: FNV-1a over UTF-16 code units, with a kind tag first so a word, a word n-gram and a char
// n-gram with the same spelling land in different buckets.

export interface Features {
  /** Bucket ids, one per word, word n-gram and char n-gram, in that order (duplicates kept). */
  ids: Int32Array;
  /** Word tokens after truncation: what usage reports as prompt tokens. */
  tokenCount: number;
}

export interface Featurizer {
  readonly settings: FeaturizerSettings;
  featurize(text: string): Features;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const KIND_WORD = 1;
const KIND_WORD_NGRAM = 2;
const KIND_CHAR_NGRAM = 3;
const WORD_SEPARATOR = 0x20;
const BOW = 0x3c; // '<'
const EOW = 0x3e; // '>'

const step = (h: number, c: number): number => Math.imul(h ^ c, FNV_PRIME);

/** Lowercase, NFKC, accents dropped, apostrophes joined ("don't" → "dont"), other symbols → spaces. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/['’`]/gu, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export function tokenize(text: string): string[] {
  const normal = normalizeText(text);
  return normal.length === 0 ? [] : normal.split(' ');
}

export function createFeaturizer(input: Partial<FeaturizerSettings> | FeaturizerSettings): Featurizer {
  const parsed = featurizerSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidRequest(`Invalid featurizer settings: ${issue?.message ?? 'invalid'}`, issue?.path.join('.') ?? null);
  }
  const settings = Object.freeze({ ...parsed.data });
  if (settings.sequence_pad_to !== undefined) return sequenceFeaturizer(settings, settings.sequence_pad_to);
  if (settings.pair_separator !== undefined) return pairFeaturizer(settings, settings.pair_separator);
  const { buckets, word_ngrams: wordN, char_ngram_min: minN, char_ngram_max: maxN, max_tokens: maxTokens } = settings;
  const charNgrams = minN > 0 && maxN > 0;
  // Reused across calls: featurize is synchronous, so one scratch buffer per featurizer is safe.
  let scratch = new Int32Array(1024);

  const push = (count: number, id: number): number => {
    if (count === scratch.length) {
      const bigger = new Int32Array(scratch.length * 2);
      bigger.set(scratch);
      scratch = bigger;
    }
    scratch[count] = id;
    return count + 1;
  };
  const bucket = (h: number): number => (h >>> 0) % buckets;

  return {
    settings,
    featurize(text: string): Features {
      if (typeof text !== 'string') throw invalidRequest('Text to classify must be a string.');
      let words = tokenize(text);
      if (words.length > maxTokens) words = words.slice(0, maxTokens);
      let n = 0;
      for (const w of words) {
        let h = step(FNV_OFFSET, KIND_WORD);
        for (let i = 0; i < w.length; i++) h = step(h, w.charCodeAt(i));
        n = push(n, bucket(h));
      }
      for (let len = 2; len <= wordN; len++) {
        for (let start = 0; start + len <= words.length; start++) {
          let h = step(FNV_OFFSET, KIND_WORD_NGRAM);
          for (let k = 0; k < len; k++) {
            if (k > 0) h = step(h, WORD_SEPARATOR);
            const w = words[start + k]!;
            for (let i = 0; i < w.length; i++) h = step(h, w.charCodeAt(i));
          }
          n = push(n, bucket(h));
        }
      }
      if (charNgrams) {
        for (const w of words) {
          const len = w.length + 2;
          const code = (i: number): number => (i === 0 ? BOW : i === len - 1 ? EOW : w.charCodeAt(i - 1));
          for (let start = 0; start < len; start++) {
            let h = step(FNV_OFFSET, KIND_CHAR_NGRAM);
            for (let k = 0; k < maxN && start + k < len; k++) {
              h = step(h, code(start + k));
              // The whole `<word>` is already the word feature; skip it as a char n-gram.
              if (k + 1 >= minN && !(start === 0 && k + 1 === len)) n = push(n, bucket(h));
            }
          }
        }
      }
      return { ids: scratch.slice(0, n), tokenCount: words.length };
    },
  };
}

/** Two-input tasks: each input tokenized on its own, then pair-featurizer.ts's features. */
function pairFeaturizer(settings: FeaturizerSettings, separator: string): Featurizer {
  return {
    settings,
    featurize(text: string): Features {
      if (typeof text !== 'string') throw invalidRequest('Text to classify must be a string.');
      const [first, second] = splitPair(text, separator);
      const a = tokenize(first).slice(0, settings.max_tokens);
      const b = tokenize(second).slice(0, settings.max_tokens);
      return pairFeatures(a, b, settings.buckets);
    },
  };
}

/**
 * Sequence students: one bucket id per word, in order (the convolution sees word order itself),
 * then id `buckets` — the padding row — up to `padTo` so the widest filter window always fits.
 */
function sequenceFeaturizer(settings: FeaturizerSettings, padTo: number): Featurizer {
  const { buckets, max_tokens: maxTokens } = settings;
  return {
    settings,
    featurize(text: string): Features {
      if (typeof text !== 'string') throw invalidRequest('Text to classify must be a string.');
      let words = tokenize(text);
      if (words.length > maxTokens) words = words.slice(0, maxTokens);
      const ids = new Int32Array(Math.max(words.length, padTo)).fill(buckets);
      words.forEach((w, k) => {
        let h = step(FNV_OFFSET, KIND_WORD);
        for (let i = 0; i < w.length; i++) h = step(h, w.charCodeAt(i));
        ids[k] = (h >>> 0) % buckets;
      });
      return { ids, tokenCount: words.length };
    },
  };
}
