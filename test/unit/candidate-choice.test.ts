import { describe, expect, it } from 'vitest';
import { oneStandardErrorChoice } from '../../src/adapters/onnx/train-candidates.js';

// Which student kind a job keeps: the cheapest within one standard error of the best validation
// accuracy. Found by the Functions end-to-end test: a convolutional student that won by 0.65
// points on 153 validation rows (0.954 vs 0.948) served unseen prompts 7 points worse.

describe('oneStandardErrorChoice', () => {
  it('keeps the cheaper kind when a costlier one wins by less than the validation noise', () => {
    expect(oneStandardErrorChoice([{ accuracy: 0.948, n: 153 }, { accuracy: 0.954, n: 153 }])).toBe(0);
  });
  it('takes the costlier kind when it wins by more than a standard error', () => {
    // SE of 0.75 over 1,000 rows is 0.0137: 0.70 is out of reach.
    expect(oneStandardErrorChoice([{ accuracy: 0.58, n: 1000 }, { accuracy: 0.7, n: 1000 }, { accuracy: 0.75, n: 1000 }])).toBe(2);
    expect(oneStandardErrorChoice([{ accuracy: 0.58, n: 1000 }, { accuracy: 0.745, n: 1000 }, { accuracy: 0.75, n: 1000 }])).toBe(1);
  });
  it('skips candidates without a validation score and keeps the only one there is', () => {
    expect(oneStandardErrorChoice([{ accuracy: Number.NaN, n: 0 }, { accuracy: 0.8, n: 100 }])).toBe(1);
    expect(oneStandardErrorChoice([{ accuracy: 0.5, n: 10 }])).toBe(0);
  });
});
