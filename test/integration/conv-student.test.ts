import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { initConvStudentWeights } from '../../src/adapters/onnx/conv-student.js';
import { exportStudentOnnx } from '../../src/adapters/onnx/export-student-onnx.js';
import { OnnxSessionCache } from '../../src/adapters/onnx/onnx-session-cache.js';
import { OnnxStudentModel } from '../../src/adapters/onnx/onnx-student-model.js';
import { writeStudentArtifacts } from '../../src/adapters/onnx/student-artifacts.js';
import { forwardStudent, type StudentWeights } from '../../src/adapters/onnx/student-weights.js';
import { trainCandidates } from '../../src/adapters/onnx/train-candidates.js';
import { parseHyperparameters, type TrainingExample } from '../../src/adapters/onnx/train-student.js';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { createRandom } from '../../src/core/eval/random.js';
import { createFeaturizer } from '../../src/core/tasks/featurizer.js';

// #17 row 3, the small neural student: hashed word embeddings → 1-D convolutions (windows 2 and
// 3) → max-pool → linear, exported to ONNX by hand (Conv + ReduceMax) and served by onnxruntime
// like the embedding-bag students. The graph must compute what the TypeScript forward pass
// computes, and the candidate search must keep it when it wins on validation.

const labels = ['greeting', 'refund', 'shipping', 'account', 'other'];

function randomConvStudent(seed: number): StudentWeights {
  const hp = parseHyperparameters({ featurizer: 'conv', buckets: 512, conv_embedding_dim: 12, conv_filters: 10, conv_windows: [2, 3], seed });
  const w = initConvStudentWeights(labels, hp, createRandom(seed));
  const rnd = createRandom(seed + 1);
  // Biases and output too, so every node of the graph carries signal (the padding row stays zero).
  for (const arr of [w.outputWeight, w.outputBias, ...w.conv!.biases]) for (let i = 0; i < arr.length; i++) arr[i] = (rnd() - 0.5) * 2;
  return w;
}

const inputs = [
  'hello there',
  'I want my money back for the broken toaster',
  'where is my package? it was supposed to arrive on Monday!!',
  'reset',
  '',
  '?!',
  'Ünïcödé çafé naïve résumé',
  Array.from({ length: 80 }, (_, i) => `token${i}`).join(' '),
];

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('convolutional student', () => {
  it('ONNX output equals the TypeScript forward pass within 1e-5 on every input', async () => {
    const w = randomConvStudent(7);
    const session = await ort.InferenceSession.create(exportStudentOnnx(w));
    const f = createFeaturizer(w.featurizer);
    try {
      for (const text of inputs) {
        const ids = f.featurize(text).ids;
        expect(ids.length).toBeGreaterThanOrEqual(3); // padded to the widest window
        const out = await session.run({
          input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (id) => BigInt(id)), [1, ids.length]),
          mask: new ort.Tensor('float32', new Float32Array(ids.length).fill(1), [1, ids.length]),
        });
        const ts = forwardStudent(w, ids);
        const probs = out.probabilities!.data as Float32Array;
        const logits = out.logits!.data as Float32Array;
        expect(probs.length).toBe(labels.length);
        for (let c = 0; c < labels.length; c++) {
          expect(Math.abs(probs[c]! - ts.probabilities[c]!), text).toBeLessThan(1e-5);
          expect(Math.abs(logits[c]! - ts.logits[c]!), text).toBeLessThan(1e-5);
        }
      }
    } finally {
      await session.release();
    }
  });

  it('is served by OnnxStudentModel from its artifacts like the other students', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distillery-conv-'));
    dirs.push(dir);
    const store = new FsArtifactStore({ root: dir });
    const w = randomConvStudent(11);
    const written = await writeStudentArtifacts(store, 'support/conv', w, { task: 'support' });
    expect(written.sidecar.featurizer.sequence_pad_to).toBe(3);
    const model = (await OnnxStudentModel.fromArtifacts(store, { id: 'support@conv', artifactPath: 'support/conv' }, { sessionCache: new OnnxSessionCache() }))!;
    for (const text of inputs) {
      const r = await model.generate({ messages: [{ role: 'user', content: text }] });
      const ts = forwardStudent(w, createFeaturizer(w.featurizer).featurize(text).ids).probabilities;
      const best = ts.indexOf(Math.max(...ts));
      expect(r.text).toBe(labels[best]);
      expect(r.confidence).toBeCloseTo(ts[best]!, 5);
    }
    await model.release();
  });

  it('is the candidate kept when it wins on validation (a conjunction across a gap no bigram sees)', () => {
    // Label: whether the first and the third word come from the same group; the middle word is
    // noise. A linear bag of words and bigrams cannot express this XOR; a width-3 filter can.
    const rnd = createRandom(5);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const first = [['red', 'scarlet', 'crimson', 'ruby', 'cherry'], ['blue', 'navy', 'azure', 'cobalt', 'indigo']] as const;
    const third = [['apple', 'tomato', 'strawberry', 'radish', 'pepper'], ['ocean', 'sky', 'sapphire', 'lagoon', 'glacier']] as const;
    const middle = Array.from({ length: 40 }, (_, i) => `filler${i}`);
    const make = (n: number): TrainingExample[] =>
      Array.from({ length: n }, () => {
        const a = rnd() < 0.5 ? 0 : 1;
        const b = rnd() < 0.5 ? 0 : 1;
        return { text: `${pick(first[a])} ${pick(middle)} ${pick(third[b])}`, label: a === b ? 'same' : 'different' };
      });
    const result = trainCandidates(
      { labels: ['same', 'different'], train: make(1500), validation: make(300) },
      { epochs: 12, early_stopping_patience: 0, char_ngram_min: 0, char_ngram_max: 0, buckets: 4096, conv_filters: 16, conv_embedding_dim: 16 },
    );
    const byKind = Object.fromEntries(result.candidates.map((c) => [c.kind, c]));
    expect(Object.keys(byKind)).toEqual(['ngrams', 'conv']);
    expect(byKind.conv!.validationAccuracy).toBeGreaterThan(0.9);
    expect(byKind.ngrams!.validationAccuracy).toBeLessThan(0.8);
    expect(byKind.conv!.chosen).toBe(true);
    expect(result.weights.conv).toBeDefined();
    // Each candidate reports its ONNX size and per-example latency.
    for (const c of result.candidates) {
      expect(c.sizeInBytes).toBeGreaterThan(0);
      expect(c.p50InMs).toBeGreaterThan(0);
      expect(c.p99InMs).toBeGreaterThanOrEqual(c.p50InMs!);
    }
  });
});
