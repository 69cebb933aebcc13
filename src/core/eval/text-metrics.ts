// Simple answer-level text metrics: exact and normalized match, SQuAD-style token F1, length ratio
// and JSON validity. Normalization is SQuAD's (lowercase, drop punctuation and the articles
// a/an/the, collapse whitespace) so token F1 matches the figures the SQuAD script reports; words
// are split on Python's whitespace set, as that script does.

import { pySplit } from './python-whitespace.js';

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
// Python's `\b` is Unicode-aware (a word character is a letter, a number or "_"), JavaScript's is
// ASCII-only: "thé" must keep its "th" + "é" together, so the boundaries are spelled out.
const ARTICLES = /(?<![\p{L}\p{N}_])(a|an|the)(?![\p{L}\p{N}_])/gu;

export function normalizeAnswer(text: string): string {
  return pySplit(text.toLowerCase().replace(PUNCTUATION, '').replace(ARTICLES, ' ')).join(' ');
}

export function exactMatch(prediction: string, reference: string): boolean {
  return prediction === reference;
}

export function normalizedMatch(prediction: string, reference: string): boolean {
  return normalizeAnswer(prediction) === normalizeAnswer(reference);
}

/** SQuAD token F1; when either side has no tokens, 1 if both are empty and 0 otherwise. */
export function tokenF1(prediction: string, reference: string): number {
  const pred = pySplit(normalizeAnswer(prediction));
  const gold = pySplit(normalizeAnswer(reference));
  if (pred.length === 0 || gold.length === 0) return pred.length === gold.length ? 1 : 0;
  const goldCounts = new Map<string, number>();
  for (const t of gold) goldCounts.set(t, (goldCounts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of pred) {
    const c = goldCounts.get(t) ?? 0;
    if (c > 0) {
      same++;
      goldCounts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / pred.length;
  const recall = same / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Whitespace-token length of the prediction over the reference's (0 when the reference is empty). */
export function lengthRatio(prediction: string, reference: string): number {
  const p = pySplit(prediction).length;
  const r = pySplit(reference).length;
  return r === 0 ? 0 : p / r;
}

export interface JsonValidity {
  valid: boolean;
  value?: unknown;
  error?: string;
  /** Required keys absent from a valid object answer. */
  missingKeys?: string[];
}

const FENCE = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/;

/**
 * Whether a structured answer parses as JSON. Models often wrap JSON in a Markdown fence; with
 * `allowCodeFence` the fence is stripped first. With `requiredKeys` the value must also be an
 * object holding those keys.
 */
export function jsonValidity(text: string, options: { allowCodeFence?: boolean; requiredKeys?: readonly string[] } = {}): JsonValidity {
  let body = text;
  if (options.allowCodeFence) {
    const m = FENCE.exec(text);
    if (m) body = m[1]!;
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    return { valid: false, error: err instanceof Error ? err.message : String(err) };
  }
  if (options.requiredKeys && options.requiredKeys.length > 0) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { valid: false, value, error: 'expected a JSON object', missingKeys: [...options.requiredKeys] };
    }
    const missingKeys = options.requiredKeys.filter((k) => !(k in (value as Record<string, unknown>)));
    if (missingKeys.length > 0) return { valid: false, value, error: 'missing keys', missingKeys };
  }
  return { valid: true, value };
}
