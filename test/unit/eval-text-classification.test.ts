import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { classificationMetrics } from '../../src/core/eval/classification-metrics.js';
import { exactMatch, jsonValidity, lengthRatio, normalizeAnswer, normalizedMatch, tokenF1 } from '../../src/core/eval/text-metrics.js';

describe('text metrics', () => {
  it('SQuAD normalization, exact and normalized match', () => {
    expect(normalizeAnswer('The  Eiffel-Tower, in Paris!')).toBe('eiffeltower in paris');
    expect(exactMatch('Paris', 'paris')).toBe(false);
    expect(normalizedMatch('Paris.', 'the paris')).toBe(true);
  });

  it('token F1 by hand', () => {
    // pred tokens: [cat, sat, on, mat]; gold: [cat, sat, on, red, mat] → P=4/4, R=4/5, F1=8/9.
    expect(tokenF1('the cat sat on the mat', 'a cat sat on a red mat')).toBeCloseTo(8 / 9, 12);
    expect(tokenF1('dog', 'cat')).toBe(0);
    expect(tokenF1('the', 'a')).toBe(1);
    expect(tokenF1('the', 'cat')).toBe(0);
    // Repeated tokens are clipped to the gold count.
    expect(tokenF1('cat cat', 'cat')).toBeCloseTo((2 * 0.5 * 1) / 1.5, 12);
  });

  it('length ratio', () => {
    expect(lengthRatio('one two three', 'one two three four five six')).toBe(0.5);
    expect(lengthRatio('x', '')).toBe(0);
  });

  it('JSON validity, with fences and required keys', () => {
    expect(jsonValidity('{"intent":"balance"}').valid).toBe(true);
    expect(jsonValidity('{"intent":').valid).toBe(false);
    expect(jsonValidity('```json\n{"a":1}\n```').valid).toBe(false);
    expect(jsonValidity('```json\n{"a":1}\n```', { allowCodeFence: true }).value).toEqual({ a: 1 });
    const missing = jsonValidity('{"a":1}', { requiredKeys: ['a', 'b'] });
    expect(missing).toMatchObject({ valid: false, missingKeys: ['b'] });
    expect(jsonValidity('[1]', { requiredKeys: ['a'] }).valid).toBe(false);
  });
});

describe('classification metrics', () => {
  it('accuracy, per-class precision/recall, macro-F1 and the confusion matrix by hand', () => {
    const pairs = [
      { actual: 'a', predicted: 'a' },
      { actual: 'a', predicted: 'a' },
      { actual: 'a', predicted: 'b' },
      { actual: 'b', predicted: 'b' },
      { actual: 'b', predicted: 'a' },
      { actual: 'c', predicted: 'c' },
    ];
    const m = classificationMetrics(pairs);
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.perClass.a).toEqual({ precision: 2 / 3, recall: 2 / 3, f1: 2 / 3, support: 3 });
    expect(m.perClass.b!.precision).toBeCloseTo(0.5, 12);
    expect(m.perClass.b!.recall).toBeCloseTo(0.5, 12);
    expect(m.perClass.c!.f1).toBe(1);
    expect(m.macroF1).toBeCloseTo((2 / 3 + 0.5 + 1) / 3, 12);
    expect(m.confusion).toEqual({ labels: ['a', 'b', 'c'], matrix: [[2, 1, 0], [1, 1, 0], [0, 0, 1]] });
  });

  it('a class never predicted scores 0 precision; extra labels keep their order', () => {
    const m = classificationMetrics([{ actual: 'x', predicted: 'y' }], ['x', 'y', 'z']);
    expect(m.perClass.x).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(m.confusion.labels).toEqual(['x', 'y', 'z']);
    expect(m.accuracy).toBe(0);
  });

  it('rejects malformed pairs with a typed error', () => {
    expect(() => classificationMetrics([{ actual: 'a' } as never])).toThrow(DistilleryError);
  });
});
