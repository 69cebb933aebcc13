import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bleuStatistics, corpusBleu, type BleuOptions } from '../../src/core/eval/bleu.js';
import { corpusChrf, type ChrfOptions } from '../../src/core/eval/chrf.js';

// Vectors derived independently of this code: test/unit/data/generate-metric-vectors.py is a naive
// Python re-derivation of sacreBLEU 2.6's chrF and BLEU rules (see its docstring), run in real
// Python so that Python's whitespace set, code points and regex classes are the reference:
//   python3 test/unit/data/generate-metric-vectors.py > test/unit/data/metric-vectors-generated.json
const generated = JSON.parse(readFileSync('test/unit/data/metric-vectors-generated.json', 'utf8'));

type Py = Record<string, unknown>;
const snakeToCamel = (o: Py): Py => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()), v]));

const close = (actual: number, expected: number) => expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThan(1e-9 * Math.max(1, expected));

describe('generated chrF vectors (Python re-derivation of sacreBLEU 2.6)', () => {
  it(`agrees on all ${generated.chrf.length} corpora`, () => {
    expect(generated.chrf.length).toBeGreaterThanOrEqual(100);
    for (const c of generated.chrf) {
      const options = snakeToCamel(c.options) as ChrfOptions;
      close(corpusChrf(c.hyps, c.refs, options).score, c.score);
    }
  });
});

describe('generated BLEU vectors (Python re-derivation of sacreBLEU 2.6)', () => {
  it(`agrees on statistics and score for all ${generated.bleu.length} corpora`, () => {
    expect(generated.bleu.length).toBeGreaterThanOrEqual(100);
    for (const c of generated.bleu) {
      const options = snakeToCamel(c.options) as BleuOptions;
      const order = options.maxNgramOrder ?? 4;
      const sum = new Array<number>(2 + 2 * order).fill(0);
      c.hyps.forEach((h: string, i: number) => {
        const seg = bleuStatistics(h, c.refs.map((s: string[]) => s[i]!), options);
        seg.forEach((v, k) => (sum[k]! += v));
      });
      expect(sum, JSON.stringify(c)).toEqual(c.stats);
      close(corpusBleu(c.hyps, c.refs, options).score, c.score);
    }
  });
});
