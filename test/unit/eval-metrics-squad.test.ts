import { describe, expect, it } from 'vitest';
import { lengthRatio, normalizeAnswer, tokenF1 } from '../../src/core/eval/text-metrics.js';

// The SQuAD v1.1 script's normalize_answer runs in Python: its \b is Unicode-aware and its
// str.split() uses Python's whitespace set. Expected strings computed with Python 3.11's re.
describe('SQuAD normalization (Python semantics)', () => {
  it('drops articles only at Unicode word boundaries and splits on Python whitespace', () => {
    expect(normalizeAnswer('Thé cat and the\u0085dog_the a\ufeff')).toBe('thé cat and dogthe \ufeff');
    expect(normalizeAnswer('The  Eiffel\u001ctower, a landmark.')).toBe('eiffel tower landmark');
  });

  it('token F1 and length ratio count Python words', () => {
    expect(tokenF1('thé cat', 'the cat')).toBeCloseTo(2 / 3, 12);
    expect(lengthRatio('a\u0085b', 'a b c d')).toBe(0.5);
  });
});
