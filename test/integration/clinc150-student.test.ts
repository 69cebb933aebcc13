import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildStudentArtifacts } from '../../src/adapters/onnx/student-artifacts.js';
import { OnnxSessionCache } from '../../src/adapters/onnx/onnx-session-cache.js';
import { OnnxStudentModel } from '../../src/adapters/onnx/onnx-student-model.js';
import { createFeaturizer } from '../../src/core/tasks/featurizer.js';
import { argmax, forwardStudent } from '../../src/adapters/onnx/student-weights.js';
import { trainStudentInWorker } from '../../src/adapters/onnx/train-student-in-worker.js';
import type { TrainingExample, TrainingProgress } from '../../src/adapters/onnx/train-student.js';

// The acceptance test of the in-process student: trained on CLINC150's 15,000 training rows with
// the gold labels standing in for the teacher, in a worker thread, it must reach 0.85 accuracy on
// the 4,500-row in-scope test split, and its ONNX export must agree with the TypeScript pass.

type Row = [string, string];
const data = JSON.parse(readFileSync(new URL('../../data/clinc150/data_full.json', import.meta.url), 'utf8')) as Record<string, Row[]>;
const toExamples = (rows: Row[]): TrainingExample[] => rows.map(([text, label]) => ({ text, label }));
const labels = [...new Set(data.train!.map((r) => r[1]))].sort();

describe('CLINC150 student', () => {
  it('trains in a worker to ≥ 0.85 in-scope test accuracy; ONNX equals the TS pass on every test input', async () => {
    expect(labels).toHaveLength(150);
    const progress: TrainingProgress[] = [];
    let ticks = 0;
    // The event loop keeps turning while the worker trains: serving is never blocked.
    const ticker = setInterval(() => ticks++, 50);
    const started = Date.now();
    const result = await trainStudentInWorker(
      { labels, train: toExamples(data.train!), validation: toExamples(data.val!) },
      // The embedding bag alone (the convolutional candidate has its own test, conv-student.test.ts).
      { seed: 42, conv_filters: 0 },
      { onProgress: (p) => progress.push(p) },
    ).finally(() => clearInterval(ticker));
    const trainingMs = Date.now() - started;
    expect(ticks).toBeGreaterThan(trainingMs / 50 / 4);
    expect(progress.length).toBe(result.metrics.epochsRun);
    expect(progress.at(-1)!.fraction).toBeGreaterThan(0);
    expect(result.metrics.trainExamples).toBe(15_000);
    expect(result.metrics.validationExamples).toBe(3_000);

    const w = result.weights;
    const f = createFeaturizer(w.featurizer);
    const test = data.test!;
    let correct = 0;
    const tsProbs: Float64Array[] = [];
    for (const [text, label] of test) {
      const p = forwardStudent(w, f.featurize(text).ids).probabilities;
      tsProbs.push(p);
      if (w.labels[argmax(p)] === label) correct++;
    }
    const accuracy = correct / test.length;
    expect(accuracy).toBeGreaterThanOrEqual(0.85);

    const artifacts = buildStudentArtifacts(w, {
      task: 'clinc150',
      lineage: { teacherModel: 'gold-labels', datasetVersion: 'clinc150-train' },
      metrics: { testAccuracy: accuracy },
    });
    expect(artifacts.model.byteLength).toBeLessThanOrEqual(10 * 1024 * 1024);

    // Every test input through onnxruntime, batched 500 at a time with padding.
    const session = await ort.InferenceSession.create(artifacts.model);
    let maxDiff = 0;
    try {
      for (let start = 0; start < test.length; start += 500) {
        const batch = test.slice(start, start + 500).map(([text]) => f.featurize(text).ids);
        const L = Math.max(1, ...batch.map((ids) => ids.length));
        const ids = new BigInt64Array(batch.length * L);
        const mask = new Float32Array(batch.length * L);
        batch.forEach((row, b) => row.forEach((id, i) => ((ids[b * L + i] = BigInt(id)), (mask[b * L + i] = 1))));
        const out = await session.run({
          input_ids: new ort.Tensor('int64', ids, [batch.length, L]),
          mask: new ort.Tensor('float32', mask, [batch.length, L]),
        });
        const probs = out.probabilities!.data as Float32Array;
        for (let b = 0; b < batch.length; b++) {
          const ts = tsProbs[start + b]!;
          for (let c = 0; c < labels.length; c++) maxDiff = Math.max(maxDiff, Math.abs(probs[b * labels.length + c]! - ts[c]!));
        }
      }
    } finally {
      await session.release();
    }
    expect(maxDiff).toBeLessThan(1e-5);

    // And as a served ChatModel.
    const cache = new OnnxSessionCache();
    const model = new OnnxStudentModel({ id: 'clinc150@1', ...artifacts, sessionCache: cache });
    const answer = await model.generate({ messages: [{ role: 'user', content: 'please transfer $200 from checking to savings' }] });
    expect(answer.text).toBe('transfer');
    expect(answer.confidence).toBeGreaterThan(0.3);
    await cache.clear();
  });

  it('cancels a training worker through its abort signal', async () => {
    const ac = new AbortController();
    const run = trainStudentInWorker(
      { labels, train: toExamples(data.train!.slice(0, 3000)) },
      { epochs: 200, early_stopping_patience: 0 },
      { abortSignal: ac.signal, onProgress: () => ac.abort() },
    );
    await expect(run).rejects.toMatchObject({ code: 'training_aborted' });
  });

  it('reports invalid hyperparameters from the worker as a typed 400', async () => {
    await expect(trainStudentInWorker({ labels, train: toExamples(data.train!.slice(0, 10)) }, { learning_rate: -1 })).rejects.toMatchObject({
      status: 400,
      param: 'learning_rate',
    });
  });
});
