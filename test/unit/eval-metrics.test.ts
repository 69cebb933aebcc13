import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { bleuFromStatistics, corpusBleu, sentenceBleu } from '../../src/core/eval/bleu.js';
import { corpusChrf, sentenceChrf } from '../../src/core/eval/chrf.js';
import { formatFixed } from '../../src/core/eval/format-number.js';
import { PorterStemmer, type PorterMode } from '../../src/core/eval/porter-stemmer.js';
import { lcsIndices, lcsLength, rougeTokenize, scoreRouge, summaryLevelLcs, unionLcs, type RougeType } from '../../src/core/eval/rouge.js';
import { tokenize13a } from '../../src/core/eval/tokenizer-13a.js';
import { createRandom } from '../../src/core/eval/random.js';

const vectors = JSON.parse(readFileSync('data/metric-vectors/published-examples.json', 'utf8'));
const rouge155 = JSON.parse(readFileSync('data/metric-vectors/rouge-155-cases.json', 'utf8'));
const stems = JSON.parse(readFileSync('data/metric-vectors/porter-stems-nltk.json', 'utf8'));

describe('formatFixed (Python float formatting)', () => {
  it('rounds exact ties half to even and everything else to nearest', () => {
    expect(formatFixed(0.125, 2)).toBe('0.12');
    expect(formatFixed(0.375, 2)).toBe('0.38');
    expect(formatFixed(2.5, 0)).toBe('2');
    expect(formatFixed(3.5, 0)).toBe('4');
    expect(formatFixed(-0.125, 2)).toBe('-0.12');
    // 0.135 is not exactly representable (it is 0.13500000000000000888...), so it rounds up.
    expect(formatFixed(0.135, 2)).toBe('0.14');
    expect(formatFixed(48.530827, 2)).toBe('48.53');
  });
});

describe('13a tokenizer', () => {
  it('splits punctuation, keeps decimal numbers, unescapes entities', () => {
    // The apostrophe (0x27) lies outside 13a's punctuation ranges, so contractions stay whole.
    expect(tokenize13a("It wasn't surprising.")).toBe("It wasn't surprising .");
    expect(tokenize13a('Costs $3.50, or 1,000 units.')).toBe('Costs $ 3.50 , or 1,000 units .');
    expect(tokenize13a('a &amp; b &lt;c&gt; &quot;d&quot;')).toBe('a & b < c > " d "');
    expect(tokenize13a('pages 10-20 (see<skipped> note)')).toBe('pages 10 - 20 ( see note )');
    expect(tokenize13a('line one-\ntwo\nthree')).toBe('line onetwo three');
  });
});

describe('BLEU (sacreBLEU conformance)', () => {
  it('reproduces the README corpus score and its exact string', () => {
    const v = vectors.bleu_readme;
    const bleu = corpusBleu(v.hyps, v.refs);
    expect(Math.abs(bleu.score - v.expected.corpus_bleu_default)).toBeLessThan(1e-6);
    expect(bleu.formatted).toBe(v.expected.string);
    expect(v.expected.signature.startsWith(bleu.signature)).toBe(true);
  });

  it('keeps an empty reference as a zero-length one, as sacreBLEU 2.6 does (README score unchanged)', () => {
    // sacreBLEU 2.6's Metric._cache_references drops only None references, so '' counts in nrefs
    // and offers length 0 to the closest-length rule; on the README vector the score is the same.
    const v = vectors.bleu_missing_reference;
    const bleu = corpusBleu(v.hyps, v.refs);
    expect(bleu.formatted).toBe(v.expected_string);
    expect(bleu.signature).toContain('nrefs:2');
    // A one-token hypothesis: '' (distance 1) is closer than a 3-token reference (distance 2).
    expect(corpusBleu(['a'], [[''], ['a b c']]).refLen).toBe(0);
  });

  it('gives 100 for identical text and a short hypothesis 0 without effective order', () => {
    expect(corpusBleu(['the cat sat on the mat'], [['the cat sat on the mat']]).score).toBeCloseTo(100, 10);
    expect(corpusBleu(['the cat'], [['the cat']]).score).toBe(0);
    // Sentence BLEU uses effective order: two matching unigrams and one bigram → 100.
    expect(sentenceBleu('the cat', ['the cat']).score).toBeCloseTo(100, 10);
  });

  it('applies exp smoothing and the brevity penalty by hand-derived figures', () => {
    // hyp: "a b c d" vs ref "a b c e f": p1=3/4, p2=2/3, p3=1/2, p4=0 → 100/(2*1)=50 (exp smoothing)
    const bleu = corpusBleu(['a b c d'], [['a b c e f']]);
    const bp = Math.exp(1 - 5 / 4);
    const expected = bp * Math.exp((Math.log(75) + Math.log(200 / 3) + Math.log(50) + Math.log(50)) / 4);
    expect(bleu.score).toBeCloseTo(expected, 10);
    expect(bleu.formatted).toBe(
      `BLEU = ${formatFixed(expected, 2)} 75.0/66.7/50.0/50.0 (BP = 0.779 ratio = 0.800 hyp_len = 4 ref_len = 5)`,
    );
  });

  it('picks the closest reference length, the shorter one on ties', () => {
    // hyp of 4 tokens; refs of 3 and 5 tokens are equally close → ref_len 3.
    const bleu = corpusBleu(['a b c d'], [['a b c'], ['a b c d e']]);
    expect(bleu.refLen).toBe(3);
  });

  it('falls back to string keys for vocabularies too large to pack, with the same result', () => {
    const words = Array.from({ length: 7500 }, (_, i) => `w${i}`);
    const text = words.join(' ');
    const altered = words.map((w, i) => (i % 10 === 0 ? 'x' : w)).join(' ');
    const big = corpusBleu([altered], [[text]]);
    expect(big.counts[0]).toBe(7500 - 750);
    // 13a leaves these tokens alone, so the unigram matches are the unchanged words.
    expect(big.totals[0]).toBe(7500);
    expect(corpusBleu([text], [[text]]).score).toBeCloseTo(100, 10);
  });

  it('rejects malformed input with a typed error', () => {
    expect(() => corpusBleu(['a'], [['a', 'b']])).toThrow(DistilleryError);
    expect(() => corpusBleu(['a'], [])).toThrow(DistilleryError);
  });
});

describe('chrF (sacreBLEU conformance)', () => {
  it('reproduces the README chrF2 string', () => {
    const v = vectors.chrf_readme;
    expect(corpusChrf(v.hyps, v.refs).formatted).toBe(v.expected_string);
  });

  it('is 100 for identical text, ignores whitespace, and names chrF++', () => {
    expect(sentenceChrf('hello world', ['hello world']).score).toBeCloseTo(100, 10);
    expect(sentenceChrf('hello world', ['helloworld']).score).toBeCloseTo(100, 10);
    const plus = sentenceChrf('hello world', ['hello world'], { wordOrder: 2 });
    expect(plus.name).toBe('chrF2++');
    expect(plus.score).toBeCloseTo(100, 10);
  });

  it('matches a hand computation with unmatched orders (effective order averaging)', () => {
    // hyp "ab" vs ref "abc": order1 P=2/2 R=2/3; order2 P=1/1 R=1/2; order3: hyp has none.
    const P = (1 + 1) / 2;
    const R = (2 / 3 + 1 / 2) / 2;
    const expected = (100 * 5 * P * R) / (4 * P + R);
    expect(sentenceChrf('ab', ['abc']).score).toBeCloseTo(expected, 10);
    // eps smoothing averages per-order F over all 6 orders instead.
    const f = (p: number, r: number) => (5 * p * r) / (4 * p + r);
    const eps = 1e-16;
    const epsExpected = (100 * (f(1, 2 / 3) + f(1, 1 / 2) + 4 * f(eps, 0) + 4 * eps - 4 * f(eps, 0))) / 6;
    expect(sentenceChrf('ab', ['abc'], { epsSmoothing: true }).score).toBeCloseTo(epsExpected, 10);
  });

  it('falls back to string n-grams for alphabets too large to pack, with the same result', () => {
    const chars = Array.from({ length: 600 }, (_, i) => String.fromCharCode(0x4e00 + i)).join('');
    expect(sentenceChrf(chars, [chars]).score).toBeCloseTo(100, 10);
    const half = chars.slice(0, 300);
    // Order 1: P = 1, R = 1/2 at every order n (300 − n + 1 of 600 − n + 1 n-grams, all matched).
    let P = 0;
    let R = 0;
    for (let n = 1; n <= 6; n++) {
      P += 1;
      R += (300 - n + 1) / (600 - n + 1);
    }
    P /= 6;
    R /= 6;
    expect(sentenceChrf(half, [chars]).score).toBeCloseTo((100 * 5 * P * R) / (4 * P + R), 10);
  });

  it('word n-grams peel punctuation like sacreBLEU', () => {
    // "dog." splits into "dog" "." so it matches the reference word "dog".
    const a = sentenceChrf('the dog.', ['the dog .'], { wordOrder: 2 }).score;
    expect(a).toBeCloseTo(100, 10);
  });

  it('counts code points, not UTF-16 units, for characters outside the BMP', () => {
    expect(sentenceChrf('😀a', ['😀a']).score).toBeCloseTo(100, 10);
    const s = sentenceChrf('😀', ['😀b']).score;
    // order1: P=1, R=1/2; no higher orders in the hypothesis.
    expect(s).toBeCloseTo((100 * 5 * 1 * 0.5) / (4 * 1 + 0.5), 10);
  });
});

describe('ROUGE (rouge-score conformance)', () => {
  for (const c of vectors.rouge_simple_cases) {
    it(`published case ${c.name ?? c.types.join(',')} for "${c.prediction}"`, () => {
      const result = scoreRouge(c.target, c.prediction, c.types as RougeType[]);
      for (const t of c.types as RougeType[]) {
        if (c.expected_all_zero) expect(result[t]).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
        else {
          expect(result[t]!.precision).toBeCloseTo(c.expected[t].precision, 12);
          expect(result[t]!.recall).toBeCloseTo(c.expected[t].recall, 12);
          expect(result[t]!.fmeasure).toBeCloseTo(c.expected[t].fmeasure, 12);
        }
      }
    });
  }

  it('agrees with ROUGE-1.5.5 on the rouge-score test data, with and without stemming', () => {
    for (const c of rouge155.cases) {
      const types = Object.keys(c.expected) as RougeType[];
      const result = scoreRouge(c.target, c.prediction, types, { useStemmer: c.useStemmer });
      for (const t of types) {
        const [p, r, f] = c.expected[t];
        expect(result[t]!.precision).toBeCloseTo(p, 5);
        expect(result[t]!.recall).toBeCloseTo(r, 5);
        expect(result[t]!.fmeasure).toBeCloseTo(f, 5);
      }
    }
  });

  it('rougeL on a non-consecutive match and rougeLsum on the paper example', () => {
    const l = scoreRouge('testing one two', 'testing two', ['rougeL']).rougeL!;
    expect(l.recall).toBeCloseTo(2 / 3, 12);
    expect(l.fmeasure).toBeCloseTo(0.8, 12);
    const s = scoreRouge('w1 w2 w3 w4 w5', 'w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5', ['rougeLsum']).rougeLsum!;
    expect(s.recall).toBeCloseTo(0.8, 12);
    expect(s.precision).toBeCloseTo(0.4, 12);
    expect(s.fmeasure).toBeCloseTo(0.5333, 3);
    expect(scoreRouge('w1 w2 w3 w4 w5', '/', ['rougeLsum']).rougeLsum!.fmeasure).toBe(0);
    expect(scoreRouge('', 'w1', ['rougeLsum']).rougeLsum!.recall).toBe(0);
  });

  it('reads LCS indices and unions them as rouge-score does', () => {
    expect(lcsIndices(['1', '2', '3', '4', '5'], ['2', '5', '3', '4'])).toEqual([1, 2, 3]);
    expect(lcsIndices(['1', '2', '3', '4', '5'], ['8', '9'])).toEqual([]);
    const ref = ['1', '2', '3', '4', '5'];
    expect(unionLcs(ref, [['1', '2', '6', '7', '8'], ['1', '3', '8', '9', '5']])).toEqual(['1', '2', '3', '5']);
    expect(summaryLevelLcs([['reference']], [[]]).recall).toBe(0);
  });

  it('tokenizes like rouge-score: lowercase, non-alphanumerics to spaces, stems only tokens longer than 3', () => {
    expect(rougeTokenize("The Dog's running-fast, isn't it?")).toEqual(['the', 'dog', 's', 'running', 'fast', 'isn', 't', 'it']);
    expect(rougeTokenize('The cats were running quickly', true)).toEqual(['the', 'cat', 'were', 'run', 'quickli']);
    expect(rougeTokenize('ties dies', true)).toEqual(['tie', 'die']);
    // The paper's algorithm, on request: no NLTK special cases.
    expect(rougeTokenize('ties dies hopefully', true, 'ORIGINAL_ALGORITHM')).toEqual(['ti', 'di', 'hopefulli']);
    const s = scoreRouge('the skies', 'the sky', ['rouge1'], { useStemmer: true }).rouge1!;
    expect(s.fmeasure).toBe(1);
    expect(scoreRouge('the skies', 'the sky', ['rouge1'], { useStemmer: true, stemmerMode: 'ORIGINAL_ALGORITHM' }).rouge1!.fmeasure).toBe(0.5);
  });

  it('bit-parallel LCS equals the dynamic-programming LCS on random sequences across word boundaries', () => {
    const random = createRandom(99);
    for (let trial = 0; trial < 300; trial++) {
      const alphabet = 2 + Math.floor(random() * 6);
      const seq = () => Array.from({ length: Math.floor(random() * 140) }, () => String(Math.floor(random() * alphabet)));
      const a = seq();
      const b = seq();
      expect(lcsLength(a, b)).toBe(lcsIndices(a, b).length);
    }
  });

  it('rejects unknown ROUGE types with a typed error', () => {
    expect(() => scoreRouge('a', 'a', ['rouge0' as RougeType])).toThrow(DistilleryError);
  });
});

describe('Porter stemmer (NLTK modes)', () => {
  for (const mode of ['NLTK_EXTENSIONS', 'MARTIN_EXTENSIONS', 'ORIGINAL_ALGORITHM'] as PorterMode[]) {
    it(`matches NLTK's ${mode} on every known word → stem pair`, () => {
      const stemmer = new PorterStemmer(mode);
      const table = stems[mode] as Record<string, string>;
      expect(Object.keys(table).length).toBeGreaterThan(100);
      for (const [word, stem] of Object.entries(table)) expect([word, stemmer.stem(word)]).toEqual([word, stem]);
      const vocabulary = stems.vocabulary[mode] as Record<string, string>;
      const wrong = Object.entries(vocabulary).filter(([word, stem]) => stemmer.stem(word) !== stem);
      expect(Object.keys(vocabulary).length).toBe(1500);
      expect(wrong).toEqual([]);
    });
  }

  it('follows the paper on its own examples', () => {
    const s = new PorterStemmer('ORIGINAL_ALGORITHM');
    const pairs: [string, string][] = [
      ['caresses', 'caress'],
      ['ponies', 'poni'],
      ['agreed', 'agre'],
      ['hopping', 'hop'],
      ['filing', 'file'],
      ['relational', 'relat'],
      ['generalizations', 'gener'],
      ['oscillators', 'oscil'],
    ];
    for (const [w, stem] of pairs) expect(s.stem(w)).toBe(stem);
  });
});

describe('sacreBLEU test-suite vectors', () => {
  const t = JSON.parse(readFileSync('data/metric-vectors/sacrebleu-tests.json', 'utf8'));
  const close = (a: number, b: number, eps: number) => expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThan(eps);

  it('chrF with beta 3 and eps smoothing', () => {
    for (const [hyps, refs, expected] of t.chrf_beta3_eps) close(corpusChrf(hyps, [refs], { beta: 3, epsSmoothing: true }).score, expected, 1e-4);
  });

  it('chrF with beta 3 and effective-order averaging', () => {
    for (const [hyps, refs, expected] of t.chrf_beta3_effective_order) close(corpusChrf(hyps, [refs], { beta: 3 }).score, expected, 1e-4);
  });

  it('chrF with beta 3 keeping whitespace', () => {
    for (const [hyps, refs, expected] of t.chrf_beta3_keep_whitespace) close(corpusChrf(hyps, [refs], { beta: 3, whitespace: true }).score, expected, 1e-4);
  });

  it('sentence chrF with eps smoothing', () => {
    for (const [hyp, refs, expected] of t.chrf_sentence_eps) close(sentenceChrf(hyp, refs, { epsSmoothing: true }).score, expected, 1e-4);
  });

  it('BLEU statistics, scoring from statistics, and empty hypotheses', () => {
    const s = t.bleu_statistics;
    const bleu = corpusBleu([s.hyp], [[s.ref]]);
    expect(bleu.counts).toEqual(s.counts);
    expect(bleu.totals).toEqual(s.totals);
    const sc = t.bleu_scoring;
    close(bleuFromStatistics([sc.sys_len, sc.ref_len, ...sc.counts, ...sc.totals]).score / 100, sc.expected_fraction, 1e-8);
    expect(corpusBleu(t.bleu_corpus_empty_hypotheses.hyps, vectors.bleu_readme.refs).score).toBe(t.bleu_corpus_empty_hypotheses.expected);
  });

  it('sentence BLEU with every smoothing method, and 0 when nothing matches', () => {
    const sb = t.sentence_bleu;
    for (const [method, value, expected] of sb.cases) {
      close(sentenceBleu(sb.sys, [sb.ref], { smoothMethod: method, ...(value === null ? {} : { smoothValue: value }) }).score, expected, 1e-3);
    }
    const zero = t.sentence_bleu_zero;
    for (const [method, value] of zero.cases) {
      expect(sentenceBleu(zero.sys, [zero.ref], { smoothMethod: method, ...(value === null ? {} : { smoothValue: value }) }).score).toBe(0);
    }
  });
});
