import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { exportStudentOnnx } from '../../src/adapters/onnx/export-student-onnx.js';
import { OnnxSessionCache } from '../../src/adapters/onnx/onnx-session-cache.js';
import { OnnxStudentModel } from '../../src/adapters/onnx/onnx-student-model.js';
import { readStudentArtifacts, writeStudentArtifacts } from '../../src/adapters/onnx/student-artifacts.js';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { DistilleryError } from '../../src/core/errors.js';
import { createFeaturizer } from '../../src/core/tasks/featurizer.js';
import { createRandom as seededRandom } from '../../src/core/eval/random.js';
import { forwardStudent, type StudentWeights } from '../../src/adapters/onnx/student-weights.js';
import { initStudentWeights, parseHyperparameters } from '../../src/adapters/onnx/train-student.js';

// Random (untrained) weights exercise every path of the graph as well as trained ones do, and
// make the comparison independent of training.
function randomStudent(hiddenSize: number, seed: number): StudentWeights {
  const hp = parseHyperparameters({ buckets: 512, embedding_dim: 12, hidden_size: hiddenSize, seed });
  const w = initStudentWeights(['greeting', 'refund', 'shipping', 'account', 'other'], hp, seededRandom(seed));
  const rnd = seededRandom(seed + 1);
  for (const arr of [w.embedding, w.outputWeight, w.outputBias]) for (let i = 0; i < arr.length; i++) arr[i] = (rnd() - 0.5) * 2;
  return w;
}

const inputs = [
  'hello there',
  'I want my money back for the broken toaster',
  'where is my package? it was supposed to arrive on Monday!!',
  'reset password',
  '',
  '?!',
  'Ünïcödé çafé naïve résumé',
  Array.from({ length: 80 }, (_, i) => `token${i}`).join(' '),
];

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('ONNX export', () => {
  for (const hidden of [0, 16]) {
    it(`equals the TypeScript forward pass within 1e-5 on every input (hidden ${hidden})`, async () => {
      const w = randomStudent(hidden, 3 + hidden);
      const session = await ort.InferenceSession.create(exportStudentOnnx(w));
      const f = createFeaturizer(w.featurizer);
      try {
        for (const text of inputs) {
          const ids = f.featurize(text).ids;
          const n = Math.max(1, ids.length);
          const idData = new BigInt64Array(n);
          const mask = new Float32Array(n);
          ids.forEach((id, i) => {
            idData[i] = BigInt(id);
            mask[i] = 1;
          });
          const out = await session.run({
            input_ids: new ort.Tensor('int64', idData, [1, n]),
            mask: new ort.Tensor('float32', mask, [1, n]),
          });
          const ts = forwardStudent(w, ids);
          const probs = out.probabilities!.data as Float32Array;
          const logits = out.logits!.data as Float32Array;
          expect(probs.length).toBe(5);
          for (let c = 0; c < 5; c++) {
            expect(Math.abs(probs[c]! - ts.probabilities[c]!)).toBeLessThan(1e-5);
            expect(Math.abs(logits[c]! - ts.logits[c]!)).toBeLessThan(1e-5);
          }
        }
        // Batched, padded input gives each row's own answer.
        const a = f.featurize(inputs[1]!).ids;
        const b = f.featurize(inputs[0]!).ids;
        const L = Math.max(a.length, b.length);
        const ids = new BigInt64Array(2 * L);
        const mask = new Float32Array(2 * L);
        a.forEach((id, i) => ((ids[i] = BigInt(id)), (mask[i] = 1)));
        b.forEach((id, i) => ((ids[L + i] = BigInt(id)), (mask[L + i] = 1)));
        const out = await session.run({ input_ids: new ort.Tensor('int64', ids, [2, L]), mask: new ort.Tensor('float32', mask, [2, L]) });
        const probs = out.probabilities!.data as Float32Array;
        const pb = forwardStudent(w, b).probabilities;
        for (let c = 0; c < 5; c++) expect(Math.abs(probs[5 + c]! - pb[c]!)).toBeLessThan(1e-5);
      } finally {
        await session.release();
      }
    });
  }

  it('refuses inconsistent weights with a typed error', () => {
    const w = randomStudent(0, 1);
    expect(() => exportStudentOnnx({ ...w, outputBias: new Float32Array(2) })).toThrow(DistilleryError);
  });
});

describe('OnnxStudentModel', () => {
  it('answers with the label in the task format, its confidence and usage; streams a delta then finish', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distillery-onnx-'));
    dirs.push(dir);
    const store = new FsArtifactStore({ root: dir });
    const w = randomStudent(8, 21);
    await writeStudentArtifacts(store, 'support/1', w, {
      task: 'support',
      labelFormat: { type: 'json', key: 'intent' },
      lineage: { jobId: 'job-1', teacherModel: 'gpt-4o' },
      metrics: { validationAccuracy: 0.5 },
    });
    const cache = new OnnxSessionCache();
    const model = (await OnnxStudentModel.fromArtifacts(store, { id: 'support@1', artifactPath: 'support/1' }, { sessionCache: cache }))!;
    expect(model.hosting).toBe('in-process');
    expect(cache.size).toBe(0); // lazy
    const request = {
      messages: [
        { role: 'system' as const, content: 'Classify the intent.' },
        { role: 'user' as const, content: 'old message' },
        { role: 'assistant' as const, content: '{"intent":"other"}' },
        { role: 'user' as const, content: [{ type: 'text' as const, text: 'where is my package' }] },
      ],
    };
    const r = await model.generate(request);
    const ts = forwardStudent(w, createFeaturizer(w.featurizer).featurize('where is my package').ids).probabilities;
    const best = ts.indexOf(Math.max(...ts));
    expect(r.text).toBe(JSON.stringify({ intent: w.labels[best] }));
    expect(r.model).toBe('support@1');
    expect(r.finishReason).toBe('stop');
    // The whole chat, counted like the teacher's (test/integration/usage-counting.test.ts): cl100k_base
    // once it has loaded, the 4-characters estimate (marked) before.
    expect(['counted', 'estimated']).toContain(r.usage.source);
    if (r.usage.source === 'estimated') expect(r.usage.promptTokens).toBe(40);
    expect(r.confidence).toBeCloseTo(ts[best]!, 5);
    expect(Object.keys(r.labelProbabilities!)).toEqual(w.labels);
    expect(Object.values(r.labelProbabilities!).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);

    // A second model object of the same version shares the one session.
    const again = (await OnnxStudentModel.fromArtifacts(store, { id: 'support@1', artifactPath: 'support/1' }, { sessionCache: cache }))!;
    await again.generate(request);
    expect(cache.size).toBe(1);

    const events = [];
    for await (const e of model.stream(request)) events.push(e);
    expect(events).toEqual([
      { type: 'delta', text: r.text },
      { type: 'finish', finishReason: 'stop', usage: r.usage, model: 'support@1', confidence: r.confidence },
    ]);

    await expect(model.generate({ messages: [{ role: 'system', content: 'no user' }] })).rejects.toMatchObject({ status: 400 });
    const ac = new AbortController();
    ac.abort();
    await expect(model.generate(request, { abortSignal: ac.signal })).rejects.toThrow();
    await cache.clear();
    expect(cache.size).toBe(0);
  });

  it('reads nothing for an absent sidecar and refuses a model that does not match its checksum', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distillery-onnx-'));
    dirs.push(dir);
    const store = new FsArtifactStore({ root: dir });
    expect(await readStudentArtifacts(store, 'nothing/1')).toBeUndefined();
    await writeStudentArtifacts(store, 'support/2', randomStudent(0, 4), { task: 'support' });
    const ok = await readStudentArtifacts(store, 'support/2');
    expect(ok?.sidecar.labels).toEqual(['greeting', 'refund', 'shipping', 'account', 'other']);
    expect(ok?.sidecar.modelSizeInBytes).toBe(ok?.model.byteLength);
    await writeFile(join(dir, 'support', '2', 'model.onnx'), new Uint8Array([1, 2, 3]));
    await expect(readStudentArtifacts(store, 'support/2')).rejects.toMatchObject({ code: 'artifact_corrupt' });
    await writeFile(join(dir, 'support', '2', 'model.json'), '{"format":"x"}');
    await expect(readStudentArtifacts(store, 'support/2')).rejects.toMatchObject({ code: 'artifact_corrupt' });
  });
});
