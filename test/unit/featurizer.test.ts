import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { createFeaturizer, normalizeText, tokenize } from '../../src/core/tasks/featurizer.js';

describe('featurizer', () => {
  it('normalizes case, accents, apostrophes and symbols', () => {
    expect(normalizeText("  Don't CHARGE my Café card!! ")).toBe('dont charge my cafe card');
    expect(tokenize('PIN-change, please')).toEqual(['pin', 'change', 'please']);
    expect(tokenize('?!')).toEqual([]);
  });

  it('emits words, word n-grams and char n-grams in range, deterministically', () => {
    const f = createFeaturizer({ buckets: 1000, word_ngrams: 2, char_ngram_min: 3, char_ngram_max: 4 });
    const a = f.featurize('pay bill');
    // words 2 + bigram 1 + char n-grams of <pay> (len 5: 3-grams 3, 4-grams 2, minus none) and
    // <bill> (len 6: 3-grams 4, 4-grams 3) = 2 + 1 + 5 + 7
    expect(a.ids.length).toBe(15);
    expect(a.tokenCount).toBe(2);
    expect(Array.from(a.ids).every((id) => id >= 0 && id < 1000)).toBe(true);
    expect(Array.from(f.featurize('Pay  BILL.').ids)).toEqual(Array.from(a.ids));
    expect(Array.from(createFeaturizer(f.settings).featurize('pay bill').ids)).toEqual(Array.from(a.ids));
    expect(Array.from(f.featurize('bill pay').ids)).not.toEqual(Array.from(a.ids));
  });

  it('turns char n-grams off and truncates long inputs', () => {
    const f = createFeaturizer({ buckets: 64, word_ngrams: 1, char_ngram_min: 0, char_ngram_max: 0, max_tokens: 3 });
    const r = f.featurize('one two three four five');
    expect(r.tokenCount).toBe(3);
    expect(r.ids.length).toBe(3);
    expect(f.featurize('').ids.length).toBe(0);
  });

  it('handles inputs longer than its scratch buffer', () => {
    const f = createFeaturizer({});
    const text = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    const r = f.featurize(text);
    expect(r.tokenCount).toBe(200);
    expect(r.ids.length).toBeGreaterThan(1024);
  });

  it('rejects invalid settings with a typed error', () => {
    expect(() => createFeaturizer({ buckets: 0 })).toThrow(DistilleryError);
    expect(() => createFeaturizer({ char_ngram_min: 4, char_ngram_max: 2 })).toThrow(DistilleryError);
  });
});
