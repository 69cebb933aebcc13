import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BlobArtifactStore } from '../../src/adapters/blob/blob-artifact-store.js';
import { OnnxSessionCache } from '../../src/adapters/onnx/onnx-session-cache.js';
import { RegistryStudentResolver } from '../../src/adapters/onnx/registry-student-resolver.js';
import { readStudentArtifacts, writeStudentArtifacts } from '../../src/adapters/onnx/student-artifacts.js';
import { SqliteModelRegistry } from '../../src/adapters/sqlite/sqlite-model-registry.js';
import type { ChatModelRequest } from '../../src/core/chat/chat-model-types.js';
import type { ChatModel } from '../../src/core/ports.js';
import { createFeaturizer } from '../../src/core/tasks/featurizer.js';
import { forwardStudent } from '../../src/adapters/onnx/student-weights.js';
import { trainStudent, type TrainingExample } from '../../src/adapters/onnx/train-student.js';

// A student's life through real storage: trained, exported, uploaded to Blob Storage (Azurite),
// registered, promoted, served through the resolver, replaced by a newer version while requests
// keep flowing, and rolled back.

const labels = ['refund', 'shipping', 'account'];
const phrases: Record<string, string[]> = {
  refund: ['i want my money back', 'refund my order please', 'return this and refund me'],
  shipping: ['where is my package', 'track my delivery', 'when will my order ship'],
  account: ['reset my password', 'i cannot log in', 'change my account email'],
};
// v2's "teacher" disagrees with v1's on purpose, so which version answered is visible.
function examples(mapping: Record<string, string>): TrainingExample[] {
  return Object.entries(phrases).flatMap(([label, texts]) => texts.flatMap((text) => Array(10).fill({ text, label: mapping[label]! })));
}
const hp = { buckets: 4096, embedding_dim: 16, epochs: 8, learning_rate: 0.5, early_stopping_patience: 0 };
const v1Weights = trainStudent({ labels, train: examples({ refund: 'refund', shipping: 'shipping', account: 'account' }) }, hp).weights;
const v2Weights = trainStudent({ labels, train: examples({ refund: 'account', shipping: 'refund', account: 'shipping' }) }, hp).weights;
const ask = (text: string): ChatModelRequest => ({ messages: [{ role: 'user', content: text }] });

const connectionString = inject('azuriteConnectionString');
const containerName = `students-${randomUUID().slice(0, 8)}`;
const cache = new OnnxSessionCache();
afterAll(async () => {
  await cache.clear();
  await BlobServiceClient.fromConnectionString(connectionString).getContainerClient(containerName).deleteIfExists();
});

describe('students through Blob Storage and the registry', () => {
  const store = new BlobArtifactStore({ connectionString, containerName });

  it('round-trips a model through Azurite byte for byte, and the downloaded model equals the TS pass', async () => {
    const written = await writeStudentArtifacts(store, 'support/round-trip', v1Weights, {
      task: 'support',
      lineage: { jobId: 'job-1', teacherModel: 'gpt-4o', datasetVersion: 'ds-1' },
      metrics: { validationAccuracy: 1 },
    });
    const read = (await readStudentArtifacts(store, 'support/round-trip'))!;
    expect(Buffer.from(read.model).equals(Buffer.from(written.model))).toBe(true);
    expect(read.sidecar).toEqual(written.sidecar);
    const session = await ort.InferenceSession.create(read.model);
    try {
      const ids = createFeaturizer(v1Weights.featurizer).featurize('where is my package').ids;
      const out = await session.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (i) => BigInt(i)), [1, ids.length]),
        mask: new ort.Tensor('float32', new Float32Array(ids.length).fill(1), [1, ids.length]),
      });
      const ts = forwardStudent(v1Weights, ids).probabilities;
      (out.probabilities!.data as Float32Array).forEach((p, i) => expect(Math.abs(p - ts[i]!)).toBeLessThan(1e-5));
    } finally {
      await session.release();
    }
  });

  it('serves the promoted version, picks up a promotion without a restart, and follows a rollback', async () => {
    const registry = new SqliteModelRegistry({ path: ':memory:' });
    let now = 1_000_000;
    const resolver = new RegistryStudentResolver({
      registry,
      artifacts: store,
      refreshIntervalInMs: 1_000,
      clock: { now: () => now },
      sessionCache: cache,
    });
    expect(await resolver.resolve('support')).toBeUndefined();

    await writeStudentArtifacts(store, 'support/1', v1Weights, { task: 'support' });
    await writeStudentArtifacts(store, 'support/2', v2Weights, { task: 'support' });
    await registry.create({ task: 'support', kind: 'onnx', artifactPath: 'support/1', lineage: { jobId: 'job-1' } });
    await registry.create({ task: 'support', kind: 'onnx', artifactPath: 'support/2', lineage: { jobId: 'job-2' } });
    await registry.promote('support', 1);

    // Still cached as "no student" until the interval passes.
    expect(await resolver.resolve('support')).toBeUndefined();
    now += 1_001;
    const first = (await resolver.resolve('support'))!;
    expect(first.id).toBe('support@1');
    expect((await first.generate(ask('where is my package'))).text).toBe('shipping');
    expect(await resolver.resolve('support')).toBe(first); // cached model object, no reload

    // A promotion made elsewhere (another instance, the distillation worker) while serving.
    await registry.promote('support', 2);
    expect((await resolver.resolve('support'))!.id).toBe('support@1'); // within the interval
    now += 1_001;
    const second = (await resolver.resolve('support'))!;
    expect(second.id).toBe('support@2');
    expect((await second.generate(ask('where is my package'))).text).toBe('refund');

    // Rollback, then invalidate: immediate in this process.
    await registry.rollback('support');
    resolver.invalidate('support');
    const back = (await resolver.resolve('support'))!;
    expect(back.id).toBe('support@1');
    expect((await back.generate(ask('reset my password'))).text).toBe('account');
    await registry.close();
  });

  it('keeps answering while versions change under concurrent load', async () => {
    const registry = new SqliteModelRegistry({ path: ':memory:' });
    await writeStudentArtifacts(store, 'load/1', v1Weights, { task: 'load' });
    await writeStudentArtifacts(store, 'load/2', v2Weights, { task: 'load' });
    await registry.create({ task: 'load', kind: 'onnx', artifactPath: 'load/1', lineage: {} });
    await registry.create({ task: 'load', kind: 'onnx', artifactPath: 'load/2', lineage: {} });
    await registry.promote('load', 1);
    const resolver = new RegistryStudentResolver({ registry, artifacts: store, refreshIntervalInMs: 0, sessionCache: cache });
    const seen: string[] = [];
    let promotion: Promise<unknown> | undefined;
    const serve = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const model = (await resolver.resolve('load'))!;
        const r = await model.generate(ask('where is my package'));
        seen.push(`${r.model}:${r.text}`);
        // The promotion lands in the middle of the traffic.
        if (seen.length === 30) promotion = registry.promote('load', 2);
      }
    };
    await Promise.all([serve(40), serve(40), serve(40)]);
    await promotion;
    await serve(3);
    expect(seen).toHaveLength(123);
    // Every answer is a consistent (version, label) pair; the last ones come from version 2.
    expect(new Set(seen)).toEqual(new Set(seen.filter((s) => s === 'load@1:shipping' || s === 'load@2:refund')));
    expect(seen.filter((s) => s.startsWith('load@1')).length).toBeGreaterThanOrEqual(30);
    expect(seen.filter((s) => s.startsWith('load@2')).length).toBeGreaterThan(0);
    expect(seen.slice(-3)).toEqual(['load@2:refund', 'load@2:refund', 'load@2:refund']);
    await registry.close();
  });

  it('resolves a remote version through the injected factory and a missing artifact to no student', async () => {
    const registry = new SqliteModelRegistry({ path: ':memory:' });
    const remote: ChatModel = {
      id: 'phi-4-mini-ft',
      hosting: 'remote',
      generate: async () => ({ model: 'phi-4-mini-ft', text: 'refund', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 1 } }),
      stream: async function* () {},
    };
    const resolver = new RegistryStudentResolver({
      registry,
      artifacts: store,
      refreshIntervalInMs: 0,
      sessionCache: cache,
      remoteModel: (v) => (v.endpoint?.model === 'phi-4-mini-ft' ? remote : undefined),
    });
    await registry.create({ task: 'remote-task', kind: 'remote', endpoint: { model: 'phi-4-mini-ft' }, lineage: {} });
    await registry.promote('remote-task', 1);
    expect(await resolver.resolve('remote-task')).toBe(remote);
    await registry.create({ task: 'gone', kind: 'onnx', artifactPath: 'nowhere/1', lineage: {} });
    await registry.promote('gone', 1);
    expect(await resolver.resolve('gone')).toBeUndefined();
    await registry.close();
  });
});
