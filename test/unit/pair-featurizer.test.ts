import { describe, expect, it } from 'vitest';
import { trainCandidates } from '../../src/adapters/onnx/train-candidates.js';
import { parseHyperparameters } from '../../src/adapters/onnx/train-student.js';
import { createRandom } from '../../src/core/eval/random.js';
import { createFeaturizer } from '../../src/core/tasks/featurizer.js';

// Pair-aware features for two-input tasks, and the candidate search that keeps them only when
// they win on the validation split.

describe('pair featurizer', () => {
  const pair = createFeaturizer({ pair_separator: '\n', buckets: 1 << 20 });

  it('is deterministic and tells the two inputs apart (a bag over the concatenation cannot)', () => {
    const x = pair.featurize('A man is sleeping\nNobody is sleeping');
    expect([...pair.featurize('A man is sleeping\nNobody is sleeping').ids]).toEqual([...x.ids]);
    const swapped = pair.featurize('Nobody is sleeping\nA man is sleeping');
    expect([...swapped.ids].sort()).not.toEqual([...x.ids].sort());
    const bag = createFeaturizer({ char_ngram_min: 0, char_ngram_max: 0, word_ngrams: 1 });
    expect([...bag.featurize('A man is sleeping Nobody is sleeping').ids].sort()).toEqual([...bag.featurize('Nobody is sleeping A man is sleeping').ids].sort());
  });

  it('adds cross-unigram, overlap and negation features', () => {
    const plain = pair.featurize('a dog runs\na dog runs');
    const negated = pair.featurize('a dog runs\na dog does not run');
    // words 3+3, bigrams 2+2, cross 9, cross-bigrams 4, overlap bin, unmatched count, negation state
    expect(plain.ids.length).toBe(3 + 3 + 2 + 2 + 9 + 4 + 1 + 1 + 1);
    // the negated one adds the unmatched words (does, not, run) and the negation mismatch
    expect(negated.ids.length).toBe(3 + 5 + 2 + 4 + 15 + 8 + 1 + 1 + 3 + 1 + 1);
    expect(negated.tokenCount).toBe(8);
  });

  it("rejects featurizer 'pair' without a separator", () => {
    expect(() => parseHyperparameters({ featurizer: 'pair' })).toThrow(/pair_separator/);
  });
});

/** A two-input task only cross features can learn: is the hypothesis' noun the premise's? */
function sameOrDifferent(n: number, seed: number) {
  const nouns = ['cat', 'dog', 'man', 'woman', 'boy', 'girl', 'car', 'horse', 'bird', 'child', 'chef', 'guitar', 'ball', 'tree', 'river', 'house', 'train', 'bike', 'cow', 'fish'];
  const random = createRandom(seed);
  return Array.from({ length: n }, () => {
    const a = nouns[Math.floor(random() * nouns.length)]!;
    const same = random() < 0.5;
    let b = a;
    while (!same && b === a) b = nouns[Math.floor(random() * nouns.length)]!;
    return { text: `the ${a} is here\nthe ${b} is here`, label: same ? 'same' : 'different' };
  });
}

describe('candidate kinds chosen by validation', () => {
  const data = { labels: ['same', 'different'], train: sameOrDifferent(1500, 1), validation: sameOrDifferent(300, 2) };
  // The convolutional kind is left out here (conv_filters 0): this is the bag kinds' comparison.
  const hp = { seed: 7, epochs: 10, pair_separator: '\n', char_ngram_min: 0, char_ngram_max: 0, buckets: 1 << 16, conv_filters: 0 };

  it('trains both kinds, keeps the pair-aware one on a pair task, and records both', () => {
    const r = trainCandidates(data, hp);
    expect(r.candidates.map((c) => c.kind)).toEqual(['ngrams', 'pair']);
    const [ngrams, pairAware] = r.candidates;
    expect(ngrams!.validationAccuracy).toBeLessThan(0.8);
    expect(pairAware!.validationAccuracy).toBeGreaterThan(0.95);
    expect(pairAware!.chosen).toBe(true);
    expect(r.weights.featurizer.pair_separator).toBe('\n');
    expect(r.hyperparameters.featurizer).toBe('pair');
  });

  it('is deterministic for the same data', () => {
    const a = trainCandidates(data, hp);
    const b = trainCandidates(data, hp);
    expect(b.candidates.map((c) => [c.kind, c.validationAccuracy, c.chosen])).toEqual(a.candidates.map((c) => [c.kind, c.validationAccuracy, c.chosen]));
    expect(Buffer.from(b.weights.outputWeight.buffer).equals(Buffer.from(a.weights.outputWeight.buffer))).toBe(true);
  });

  it('trains the n-gram and the convolutional kinds for single-input tasks (the convolutional one unless conv_filters is 0)', () => {
    const data = { labels: ['a', 'b'], train: [{ text: 'x y', label: 'a' }, { text: 'z w', label: 'b' }] };
    const r = trainCandidates(data, { epochs: 1, early_stopping_patience: 0 });
    expect(r.candidates.map((c) => c.kind)).toEqual(['ngrams', 'conv']);
    const bagOnly = trainCandidates(data, { epochs: 1, early_stopping_patience: 0, conv_filters: 0 });
    expect(bagOnly.candidates).toEqual([expect.objectContaining({ kind: 'ngrams', chosen: true })]);
  });
});
