import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { createFeaturizer } from '../../src/core/tasks/featurizer.js';
import { kdLoss, softenDistribution } from '../../src/adapters/onnx/kd-loss.js';
import { createRandom as seededRandom } from '../../src/core/eval/random.js';
import { forwardStudent, type StudentWeights } from '../../src/adapters/onnx/student-weights.js';
import {
  backwardStudent,
  createDenseGradients,
  initStudentWeights,
  parseHyperparameters,
  trainStudent,
  type TrainingExample,
} from '../../src/adapters/onnx/train-student.js';

describe('knowledge-distillation loss', () => {
  it('matches a hand-computed loss and logit gradient on a tiny case (T = 2, alpha = 0.5)', () => {
    // z = [1, 0, -1], label 0, teacher q = [0.5, 0.3, 0.2], T = 2, alpha = 0.5.
    const z = [1, 0, -1];
    const e = z.map(Math.exp);
    const p = e.map((v) => v / (e[0]! + e[1]! + e[2]!)); // softmax(z)
    const eT = z.map((v) => Math.exp(v / 2));
    const pT = eT.map((v) => v / (eT[0]! + eT[1]! + eT[2]!)); // softmax(z / 2)
    const qr = [0.5, 0.3, 0.2].map((v) => Math.sqrt(v)); // q^(1/T)
    const q = qr.map((v) => v / (qr[0]! + qr[1]! + qr[2]!));
    const kl = q.reduce((s, qi, i) => s + qi * Math.log(qi / pT[i]!), 0);
    const expectedLoss = 0.5 * -Math.log(p[0]!) + 0.5 * 4 * kl;
    const expectedGrad = [0, 1, 2].map((i) => 0.5 * (p[i]! - (i === 0 ? 1 : 0)) + 0.5 * 2 * (pT[i]! - q[i]!));

    const { loss, gradient } = kdLoss(z, { label: 0, teacher: new Float64Array([0.5, 0.3, 0.2]) }, { temperature: 2, alpha: 0.5 });
    expect(loss).toBeCloseTo(expectedLoss, 12);
    for (let i = 0; i < 3; i++) expect(gradient[i]).toBeCloseTo(expectedGrad[i]!, 12);
    // The soft term's gradient sums to zero like the hard one's: logits only shift relative mass.
    expect(gradient.reduce((s, g) => s + g, 0)).toBeCloseTo(0, 12);
    expect(Array.from(softenDistribution([0.5, 0.3, 0.2], 2))).toEqual(q.map((v) => expect.closeTo(v, 12)));
  });

  it('is plain cross-entropy without a teacher distribution', () => {
    const { loss, gradient } = kdLoss([2, 1], { label: 1 }, { temperature: 3, alpha: 0.2 });
    const p1 = Math.exp(1) / (Math.exp(2) + Math.exp(1));
    expect(loss).toBeCloseTo(-Math.log(p1), 12);
    expect(gradient[1]).toBeCloseTo(p1 - 1, 12);
  });

  it('back-propagates to every parameter as finite differences say (with a hidden layer)', () => {
    const hp = parseHyperparameters({ buckets: 16, embedding_dim: 3, hidden_size: 4, temperature: 3, alpha: 0.3 });
    const w = initStudentWeights(['a', 'b', 'c'], hp, seededRandom(7));
    const rnd = seededRandom(11);
    for (const arr of [w.outputBias, w.hiddenBias!]) for (let i = 0; i < arr.length; i++) arr[i] = rnd() - 0.5;
    // Float64 copies so finite differences are exact enough: the loss is evaluated in float64 too.
    const ids = [2, 5, 5, 9];
    const target = { label: 1, teacher: new Float64Array([0.2, 0.5, 0.3]) };
    const opts = { temperature: 3, alpha: 0.3 };
    const lossOf = (weights: StudentWeights) => kdLoss(forwardStudent(weights, ids).logits, target, opts).loss;

    const fwd = forwardStudent(w, ids);
    const grads = createDenseGradients(w);
    const dPooled = backwardStudent(w, fwd, kdLoss(fwd.logits, target, opts).gradient, grads);

    const check = (arr: Float32Array, index: number, analytic: number) => {
      const h = 1e-2;
      const old = arr[index]!;
      arr[index] = old + h;
      const up = lossOf(w);
      arr[index] = old - h;
      const down = lossOf(w);
      arr[index] = old;
      // Perturbations are exact in float32 at these magnitudes; compare with the stored value's step.
      const numeric = (up - down) / ((Math.fround(old + h) - Math.fround(old - h)) || 2 * h);
      expect(numeric).toBeCloseTo(analytic, 3);
    };
    for (let i = 0; i < w.outputWeight.length; i++) check(w.outputWeight, i, grads.outputWeight[i]!);
    for (let i = 0; i < w.outputBias.length; i++) check(w.outputBias, i, grads.outputBias[i]!);
    for (let i = 0; i < w.hiddenWeight!.length; i++) check(w.hiddenWeight!, i, grads.hiddenWeight![i]!);
    for (let i = 0; i < w.hiddenBias!.length; i++) check(w.hiddenBias!, i, grads.hiddenBias![i]!);
    // Embedding row 5 appears twice among 4 ids: gradient 2/4 of dPooled.
    for (let d = 0; d < 3; d++) check(w.embedding, 5 * 3 + d, (2 / 4) * dPooled[d]!);
    for (let d = 0; d < 3; d++) check(w.embedding, 2 * 3 + d, (1 / 4) * dPooled[d]!);
  });

  it('fused in-place SGD equals gradient accumulation followed by an update', () => {
    const hp = parseHyperparameters({ buckets: 16, embedding_dim: 3, hidden_size: 2 });
    const a = initStudentWeights(['a', 'b'], hp, seededRandom(3));
    const b = initStudentWeights(['a', 'b'], hp, seededRandom(3));
    const ids = [1, 2, 3];
    const fa = forwardStudent(a, ids);
    const g = kdLoss(fa.logits, { label: 0 }, { temperature: 1, alpha: 1 }).gradient;
    const grads = createDenseGradients(a);
    const pa = backwardStudent(a, fa, g, grads);
    for (let i = 0; i < a.outputWeight.length; i++) a.outputWeight[i]! -= 0.1 * grads.outputWeight[i]!;
    for (let i = 0; i < a.hiddenWeight!.length; i++) a.hiddenWeight![i]! -= 0.1 * grads.hiddenWeight![i]!;
    const pb = backwardStudent(b, forwardStudent(b, ids), g, { step: 0.1 });
    expect(Array.from(pb)).toEqual(Array.from(pa));
    expect(Array.from(b.outputWeight)).toEqual(Array.from(a.outputWeight));
    expect(Array.from(b.hiddenWeight!)).toEqual(Array.from(a.hiddenWeight!));
  });
});

// A small synthetic problem: each label owns some words; the "teacher" is unsure between two
// labels that share words, and says so through its distribution.
function synthetic(n: number, seed: number): TrainingExample[] {
  const words: Record<string, string[]> = {
    refund: ['refund', 'money', 'back', 'return'],
    shipping: ['ship', 'delivery', 'package', 'track'],
    account: ['password', 'login', 'account', 'email'],
  };
  const labels = Object.keys(words);
  const rnd = seededRandom(seed);
  const out: TrainingExample[] = [];
  for (let i = 0; i < n; i++) {
    const label = labels[i % 3]!;
    const own = words[label]!;
    const text = Array.from({ length: 4 }, () => own[Math.floor(rnd() * own.length)]).join(' ') + ' please';
    const dist: Record<string, number> = { refund: 0.05, shipping: 0.05, account: 0.05 };
    dist[label] = 0.9;
    out.push({ text, label, teacherDistribution: dist });
  }
  return out;
}

describe('trainer', () => {
  const labels = ['refund', 'shipping', 'account'];
  const hp = { buckets: 2048, embedding_dim: 8, epochs: 10, learning_rate: 0.5, temperature: 4, alpha: 0.3, early_stopping_patience: 0 };

  it('trains with soft teacher labels at T > 1: loss falls and held-out accuracy is perfect', () => {
    const progress: number[] = [];
    const r = trainStudent({ labels, train: synthetic(300, 1), validation: synthetic(60, 2) }, hp, {
      onProgress: (p) => progress.push(p.trainLoss),
    });
    expect(r.metrics.softLabelExamples).toBe(360);
    expect(progress.length).toBe(10);
    expect(progress[progress.length - 1]!).toBeLessThan(progress[0]! * 0.5);
    expect(r.metrics.validationAccuracy).toBe(1);
    // The teacher put 0.9 on its label: the KD-trained student learns that hedging, while one
    // trained on hard labels alone becomes more certain.
    const hard = trainStudent({ labels, train: synthetic(300, 1), validation: synthetic(60, 2) }, { ...hp, alpha: 1 });
    const meanTop = (w: StudentWeights) => {
      const f = createFeaturizer(w.featurizer);
      const xs = synthetic(60, 2).map((e) => Math.max(...forwardStudent(w, f.featurize(e.text).ids).probabilities));
      return xs.reduce((s, v) => s + v, 0) / xs.length;
    };
    expect(meanTop(r.weights)).toBeLessThan(meanTop(hard.weights));
    expect(meanTop(r.weights)).toBeGreaterThan(0.5);
  });

  it('trains a student with a hidden ReLU layer', () => {
    const r = trainStudent({ labels, train: synthetic(300, 12), validation: synthetic(60, 13) }, { ...hp, hidden_size: 16, learning_rate: 0.2 });
    expect(r.weights.hiddenWeight).toHaveLength(8 * 16);
    expect(r.metrics.history.at(-1)!.trainLoss).toBeLessThan(r.metrics.history[0]!.trainLoss * 0.5);
    expect(r.metrics.validationAccuracy).toBe(1);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const data = { labels, train: synthetic(90, 3), validation: synthetic(30, 4) };
    const a = trainStudent(data, { ...hp, epochs: 2 });
    const b = trainStudent(data, { ...hp, epochs: 2 });
    const c = trainStudent(data, { ...hp, epochs: 2, seed: 7 });
    expect(Array.from(a.weights.outputWeight)).toEqual(Array.from(b.weights.outputWeight));
    expect(Array.from(a.weights.outputWeight)).not.toEqual(Array.from(c.weights.outputWeight));
  });

  it('skips unusable examples, uses a distribution alone, and rejects bad input with typed errors', () => {
    const train: TrainingExample[] = [
      ...synthetic(30, 5),
      { text: 'no label at all', label: null },
      { text: 'unknown label', label: 'billing' },
      { text: 'refund money back', label: null, teacherDistribution: { refund: 0.7, shipping: 0.3 } },
    ];
    const r = trainStudent({ labels, train }, { ...hp, epochs: 1 });
    expect(r.metrics.skippedExamples).toBe(2);
    expect(r.metrics.softLabelExamples).toBe(31);
    expect(() => trainStudent({ labels: ['only'], train }, hp)).toThrow(DistilleryError);
    expect(() => trainStudent({ labels, train: [{ text: 'x', label: null }] }, hp)).toThrow(DistilleryError);
    expect(() => trainStudent({ labels, train }, { learning_rate: -1 })).toThrow(DistilleryError);
    expect(() => trainStudent({ labels, train: [{ text: 3 as unknown as string, label: 'refund' }] }, hp)).toThrow(DistilleryError);
    expect(() =>
      trainStudent({ labels, train: [{ text: 'x', label: 'refund', teacherDistribution: { refund: -1 } }] }, hp),
    ).toThrow(DistilleryError);
  });

  it('stops early when validation stops improving and returns the best epoch', () => {
    // A validation set the teacher labels against the training data: the better the student fits
    // the training set, the worse it does here, so validation stops improving after a few epochs.
    const rotate: Record<string, string> = { refund: 'shipping', shipping: 'account', account: 'refund' };
    const validation = synthetic(30, 9).map((e) => ({ text: e.text, label: rotate[e.label!]! }));
    const r = trainStudent({ labels, train: synthetic(60, 8), validation }, { ...hp, epochs: 50, early_stopping_patience: 2 });
    expect(r.metrics.epochsRun).toBeLessThan(50);
    expect(r.metrics.bestEpoch).toBeLessThanOrEqual(r.metrics.epochsRun);
    expect(r.metrics.history[r.metrics.bestEpoch - 1]!.validationAccuracy).toBe(r.metrics.validationAccuracy);
  });

  it('honours an aborted signal', () => {
    const ac = new AbortController();
    ac.abort();
    expect(() => trainStudent({ labels, train: synthetic(30, 1) }, hp, { abortSignal: ac.signal })).toThrow(/cancelled/);
  });
});
