import { describe, expect, it } from 'vitest';
import { corpusBleu, sentenceBleu } from '../../src/core/eval/bleu.js';
import { chrfStatistics, corpusChrf, sentenceChrf } from '../../src/core/eval/chrf.js';
import { pyRstrip, pySplit } from '../../src/core/eval/python-whitespace.js';

// Cases where Distillery diverged from sacreBLEU 2.6 (issue #16), with figures from sacreBLEU run
// from its source (quoted in the issue) and hand derivations from its algorithm.

describe('chrF with references shorter than the n-gram order', () => {
  it('matches sacreBLEU on the short-answer corpus (81.08, chrF++ 80.53)', () => {
    const hyps = ['Paris is the capital', 'London'];
    const refs = [['Paris', 'London']];
    expect(corpusChrf(hyps, refs).formatted).toBe('chrF2 = 81.08');
    expect(corpusChrf(hyps, refs, { wordOrder: 2 }).formatted).toBe('chrF2++ = 80.53');
  });

  it('counts no hypothesis n-grams of an order the reference lacks (hand-derived statistics)', () => {
    // "Parisisthecapital" (17 chars) vs "Paris" (5): orders 1-5 are counted, order 6 is [0, 0, 0].
    const stats = chrfStatistics('Paris is the capital', ['Paris']);
    expect(stats.slice(12, 15)).toEqual([13, 1, 1]); // order 5: 17 − 4 hypothesis 5-grams, "Paris" matched
    expect(stats.slice(15, 18)).toEqual([0, 0, 0]);
    // Corpus, order n: segment 1 has 18 − n hypothesis and 6 − n reference n-grams (n ≤ 5), all of
    // "Paris" matched; segment 2 has 7 − n on each side, all matched. Order 6 has segment 2 only.
    let p = 0;
    let r = 0;
    for (let n = 1; n <= 6; n++) {
      const hyp = (n <= 5 ? 18 - n : 0) + (7 - n);
      const ref = (n <= 5 ? 6 - n : 0) + (7 - n);
      p += ref / hyp; // every reference n-gram is matched, so matches = ref
      r += 1;
    }
    p /= 6;
    r /= 6;
    expect(corpusChrf(['Paris is the capital', 'London'], [['Paris', 'London']]).score).toBeCloseTo((100 * 5 * p * r) / (4 * p + r), 10);
  });
});

describe('trailing whitespace, whitespace set and empty references', () => {
  it('strips trailing whitespace before tokenizing (BLEU 100, not 59.46)', () => {
    const ref = 'The result is state-of-the-';
    expect(corpusBleu(['The result is state-of-the-\n'], [[ref]]).formatted.startsWith('BLEU = 100.00')).toBe(true);
    expect(corpusChrf(['The result is state-of-the-\n'], [[ref]]).formatted).toBe('chrF2 = 100.00');
    expect(sentenceBleu('The result is state-of-the-\u0085', [ref]).score).toBeCloseTo(100, 10);
  });

  it("splits on Python's whitespace set, not JavaScript's", () => {
    expect(pySplit('a\u0085b\u001cc\u001fd\ufeffe')).toEqual(['a', 'b', 'c', 'd\ufeffe']);
    expect(pyRstrip('x\u001e\u0085 ')).toBe('x');
    expect(pyRstrip('x\ufeff')).toBe('x\ufeff');
    // U+FEFF is a character to Python, so it is part of the character n-grams...
    expect(sentenceChrf('ab\ufeff', ['ab']).score).toBeLessThan(100);
    // ...while U+0085 and U+001C are whitespace and vanish.
    expect(sentenceChrf('a\u0085b\u001c', ['ab']).score).toBeCloseTo(100, 10);
    // BLEU tokens: "a\u0085b" is two words as in Python.
    expect(corpusBleu(['a\u0085b c d'], [['a b c d']]).score).toBeCloseTo(100, 10);
  });

  it('keeps an empty reference as a zero-length reference (sacreBLEU 2.6)', () => {
    // Only an empty reference: every order is [0, 0, 0], so the segment adds nothing.
    expect(chrfStatistics('abc', [''])).toEqual(new Array(18).fill(0));
    // First-best on ties: '' scores 0, and a reference with no match also 0, so '' (first) wins.
    expect(chrfStatistics('abc', ['', 'xyz'])).toEqual(new Array(18).fill(0));
    expect(chrfStatistics('abc', ['xyz', ''])).toEqual([3, 3, 0, 2, 2, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // A corpus with one empty reference scores the other segment alone.
    expect(corpusChrf(['abc', 'hello'], [['', 'hello']]).score).toBeCloseTo(100, 10);
  });
});

describe('chrF counting paths', () => {
  it('gives the same figures with one reference, several references and huge alphabets', () => {
    // 2,100 distinct characters: 2100² prefix·character cells exceed the direct table (2^20), so the
    // Map path runs. Order n: the first half matches all its 1051 − n n-grams of 2101 − n.
    const chars = Array.from({ length: 2100 }, (_, i) => String.fromCharCode(0x4e00 + i)).join('');
    const half = chars.slice(0, 1050);
    let p = 0;
    let r = 0;
    for (let n = 1; n <= 6; n++) {
      p += 1;
      r += (1050 - n + 1) / (2100 - n + 1);
    }
    p /= 6;
    r /= 6;
    expect(sentenceChrf(half, [chars]).score).toBeCloseTo((100 * 5 * p * r) / (4 * p + r), 10);
    // Several references take the per-reference path; a duplicate changes nothing.
    const hyp = 'the quick brown fox jumps';
    const ref = 'the quick brown dog jumped';
    expect(chrfStatistics(hyp, [ref, ref])).toEqual(chrfStatistics(hyp, [ref]));
    expect(chrfStatistics(hyp, ['zzz', ref], { wordOrder: 2 })).toEqual(chrfStatistics(hyp, [ref], { wordOrder: 2 }));
  });
});
