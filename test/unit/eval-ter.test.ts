import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { corpusTer, sentenceTer, terStatistics } from '../../src/core/eval/ter.js';
import { translationEditRate } from '../../src/core/eval/ter-edit-rate.js';
import { tokenizeTer } from '../../src/core/eval/tokenizer-ter.js';
import { createRandom } from '../../src/core/eval/random.js';

// Vectors quoted from sacreBLEU 2.x's test/test_ter.py and test/test_tokenizer_ter.py
// (data/metric-vectors/sacrebleu-ter-bleu-tests.json), then hand-derived cases.
const t = JSON.parse(readFileSync('data/metric-vectors/sacrebleu-ter-bleu-tests.json', 'utf8'));

describe('TER (sacreBLEU test_ter.py)', () => {
  it('scores the published corpora within 1e-3', () => {
    for (const [hyps, refs, expected] of t.ter_corpus) {
      expect(Math.abs(corpusTer(hyps, [refs]).score - 100 * expected), JSON.stringify(hyps).slice(0, 60)).toBeLessThan(1e-3);
    }
  });

  it('tokenizes like the Tercom tokenizer in every mode', () => {
    for (const [input, expected] of t.ter_tokenizer_default) expect(tokenizeTer(input)).toBe(expected);
    for (const [input, expected] of t.ter_tokenizer_no_punct) expect(tokenizeTer(input, { noPunct: true })).toBe(expected);
    for (const [input, expected] of t.ter_tokenizer_norm) expect(tokenizeTer(input, { normalized: true })).toBe(expected);
    for (const [input, expected] of t.ter_tokenizer_asian) expect(tokenizeTer(input, { normalized: true, asianSupport: true })).toBe(expected);
  });
});

describe('TER (hand-derived from sacreBLEU ter.py / lib_ter.py)', () => {
  it('counts a shifted block as one edit and picks the best reference', () => {
    // One deletion against 4 reference words.
    expect(sentenceTer('a b c', ['a b c d']).score).toBeCloseTo(25, 10);
    // "c a b" → shift "c" to the end: 1 edit / 3.
    expect(translationEditRate(['c', 'a', 'b'], ['a', 'b', 'c'])).toEqual([1, 3]);
    // Fewest edits over the references (1), over their average length ((3 + 1) / 2).
    expect(terStatistics('a b', ['a b c', 'a'])).toEqual([1, 2]);
    expect(sentenceTer('a b', ['a b c', 'a']).score).toBeCloseTo(50, 10);
  });

  it('handles empty references and hypotheses as sacreBLEU does', () => {
    expect(terStatistics('a b', [''])).toEqual([2, 0]);
    expect(sentenceTer('a b', ['']).score).toBe(100);
    expect(sentenceTer('', ['']).score).toBe(0);
    expect(corpusTer(['', 'x'], [['a b', 'x']]).score).toBeCloseTo((2 / 3) * 100, 10);
  });

  it('applies case, punctuation and normalization options, strips trailing whitespace', () => {
    expect(sentenceTer('A b', ['a b']).score).toBe(0);
    expect(sentenceTer('A b', ['a b'], { caseSensitive: true }).score).toBeCloseTo(50, 10);
    expect(sentenceTer('a b.', ['a b'], { noPunct: true }).score).toBe(0);
    expect(sentenceTer('a (b).', ['a ( b ) .'], { normalized: true }).score).toBe(0);
    expect(sentenceTer('a b\n\u0085', ['a b']).score).toBe(0);
    const s = corpusTer(['a'], [['a']], { normalized: true, caseSensitive: true });
    expect(s.signature).toBe('nrefs:1|case:mixed|tok:tercom|norm:yes|punct:yes|asian:no');
    expect(s.formatted).toBe('TER = 0.00');
  });

  it('stays bounded on long shuffled segments (candidate budget) and never beats the edit distance', () => {
    const random = createRandom(16);
    const ref = Array.from({ length: 200 }, (_, i) => `w${i % 60}`);
    const hyp = [...ref].sort(() => random() - 0.5);
    const [edits, length] = translationEditRate(hyp, ref);
    expect(length).toBe(200);
    expect(edits).toBeGreaterThan(0);
    expect(edits).toBeLessThanOrEqual(200);
  });

  it('rejects malformed input with a typed error', () => {
    expect(() => corpusTer(['a'], [['a', 'b']])).toThrow(DistilleryError);
  });
});
