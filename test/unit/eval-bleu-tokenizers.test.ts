import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { bleuFromStatistics, corpusBleu, type BleuOptions } from '../../src/core/eval/bleu.js';
import { tokenizeChar } from '../../src/core/eval/tokenizer-char.js';
import { tokenizeIntl } from '../../src/core/eval/tokenizer-intl.js';
import { bleuTokenizer, type BleuTokenizerName } from '../../src/core/eval/tokenizers.js';

// Vectors quoted from sacreBLEU 2.x's test/test_bleu.py (data/metric-vectors/sacrebleu-ter-bleu-tests.json).
const t = JSON.parse(readFileSync('data/metric-vectors/sacrebleu-ter-bleu-tests.json', 'utf8'));
const close = (a: number, b: number, eps: number) => expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThan(eps);

// sacreBLEU's raw_corpus_bleu: floor smoothing, no tokenization, effective order.
const raw = (hyps: string[], refs: string[][], floor: number | null) =>
  corpusBleu(hyps, refs, { smoothMethod: 'floor', ...(floor === null ? {} : { smoothValue: floor }), tokenize: 'none', effectiveOrder: true }).score / 100;

describe('BLEU tokenizers and options (sacreBLEU test_bleu.py)', () => {
  it('corpus BLEU with tokenize none / 13a / intl and smooth none', () => {
    for (const [opts, expected] of t.bleu_corpus_options as [Record<string, string>, number][]) {
      const options: BleuOptions = { tokenize: opts.tokenize as BleuTokenizerName | undefined, smoothMethod: opts.smooth_method as BleuOptions['smoothMethod'] };
      close(corpusBleu(t.readme_hyps, t.readme_refs, options).score, expected, 1e-6);
    }
  });

  it('max_ngram_order 1 to 6', () => {
    for (const [order, expected] of t.bleu_max_ngram_order as [number, string][]) {
      const bleu = corpusBleu(t.readme_hyps, t.readme_refs, { maxNgramOrder: order });
      expect(bleu.score.toFixed(2)).toBe(expected);
      expect(bleu.precisions).toHaveLength(order);
    }
  });

  it('raw corpus BLEU, effective order, offsets and degenerate statistics', () => {
    for (const [hyps, refs, floor, expected] of [...t.raw_corpus_bleu, ...t.raw_corpus_bleu_effective_order]) close(raw(hyps, refs, floor), expected, 1e-8);
    const o = t.raw_corpus_bleu_offset;
    close(raw(o.hyps, o.refs, 0), o.with_offset_0, 1e-8);
    close(raw(o.hyps, o.refs, null), o['with_default_offset_0.1'], 1e-8);
    for (const [counts, totals, sysLen, refLen, floor, expected] of t.bleu_degenerate_floor) {
      expect(bleuFromStatistics([sysLen, refLen, ...counts, ...totals], { smoothMethod: 'floor', smoothValue: floor }).score / 100).toBe(expected);
    }
  });
});

describe('tokenizers (hand-derived from sacreBLEU tokenizer_intl / tokenizer_char)', () => {
  it('intl splits punctuation except between digits, and every symbol', () => {
    expect(tokenizeIntl('Hello, world! It costs 1,000.50 €.')).toBe('Hello , world ! It costs 1,000.50 € .');
    // mteval-v14's known quirk: a number followed by a final dot keeps the dot.
    expect(tokenizeIntl('In 2024.')).toBe('In 2024.');
    expect(tokenizeIntl('«Ça va?» a+b=c')).toBe('« Ça va ? » a + b = c');
    expect(tokenizeIntl('x\u0085y\ufeff')).toBe('x y\ufeff');
  });

  it('char makes every code point a token, whitespace dropped by the split', () => {
    expect(tokenizeChar('ab c😀')).toBe('a b   c 😀');
    expect(corpusBleu(['ab c😀'], [['abc😀']], { tokenize: 'char' }).score).toBeCloseTo(100, 10);
  });

  it('none leaves text as is; the signature names the tokenizer', () => {
    expect(bleuTokenizer('none')('a,b')).toBe('a,b');
    expect(corpusBleu(['a b c d'], [['a b c d']], { tokenize: 'intl' }).signature).toContain('tok:intl');
    expect(corpusBleu(['a b c d'], [['a b c d']], { smoothMethod: 'floor' }).signature).toContain('smooth:floor[0.10]');
  });

  it('rejects unknown tokenizers and invalid orders with a typed error', () => {
    expect(() => corpusBleu(['a'], [['a']], { tokenize: 'zh' as BleuTokenizerName })).toThrow(DistilleryError);
    expect(() => corpusBleu(['a'], [['a']], { maxNgramOrder: 0 })).toThrow(DistilleryError);
    expect(() => corpusBleu(['a'], [['a']], { maxNgramOrder: 2.5 })).toThrow(DistilleryError);
  });

  it('gives the same figures on every counting path (dense ids, packed keys, string keys)', () => {
    // One reference: dense n-gram ids. Two references: packed keys, or string keys when
    // 400^6 · 6 exceeds 2^53 (order 6 here). Identical references must not change anything.
    const words = Array.from({ length: 400 }, (_, i) => `w${i}`);
    const hyp = words.map((w, i) => (i % 7 === 0 ? 'x' : w)).join(' ');
    for (const order of [4, 6]) {
      const one = corpusBleu([hyp], [[words.join(' ')]], { maxNgramOrder: order });
      const two = corpusBleu([hyp], [[words.join(' ')], [words.join(' ')]], { maxNgramOrder: order });
      expect(one.counts[0]).toBe(400 - 58);
      expect(one.totals).toEqual(Array.from({ length: order }, (_, n) => 400 - n));
      expect(two.counts).toEqual(one.counts);
      expect(two.score).toBeCloseTo(one.score, 12);
    }
  });
});
