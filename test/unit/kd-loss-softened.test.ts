import { describe, expect, it } from 'vitest';
import { kdLoss, softenDistribution } from '../../src/adapters/onnx/kd-loss.js';

// The trainer softens each example's teacher distribution once (it is constant for the run)
// instead of at every step of every epoch; the loss and gradient must not change.

describe('kdLoss with a precomputed softened distribution', () => {
  it('gives the same loss and gradient as softening on the fly', () => {
    const teacher = new Float64Array([0.7, 0.2, 0.1, 0]);
    const logits = [1.5, -0.3, 0.2, 0.9];
    for (const temperature of [1, 2, 4]) {
      const options = { temperature, alpha: 0.1 };
      const fresh = kdLoss(logits, { label: 0, teacher }, options);
      const pre = kdLoss(logits, { label: 0, teacher, softened: softenDistribution(teacher, temperature) }, options);
      expect(pre.loss).toBe(fresh.loss);
      expect([...pre.gradient]).toEqual([...fresh.gradient]);
    }
  });
});
