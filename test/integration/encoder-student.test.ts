import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { prepareEncoderCandidate } from '../../src/adapters/onnx/encoder-candidate.js';
import { encoderHeadProbabilities } from '../../src/adapters/onnx/encoder-head.js';
import { sharedEncoderCount } from '../../src/adapters/onnx/encoder-student-runner.js';
import { OnnxSessionCache } from '../../src/adapters/onnx/onnx-session-cache.js';
import { OnnxStudentModel } from '../../src/adapters/onnx/onnx-student-model.js';
import { SentenceEncoder } from '../../src/adapters/onnx/sentence-encoder.js';
import { readStudentArtifacts, writeStudentArtifacts } from '../../src/adapters/onnx/student-artifacts.js';
import { trainStudentInWorker } from '../../src/adapters/onnx/train-student-in-worker.js';
import type { TrainingExample } from '../../src/adapters/onnx/train-student.js';
import { clincSubset } from '../fixtures/clinc150.js';
import { wordsOf, writeTinyEncoder } from '../fixtures/tiny-encoder.js';

// #17 item 3, the encoder student: a user-supplied ONNX sentence encoder (here a tiny one the test
// builds: embedding lookup + tanh, WordPiece tokenizer.json) with a linear head trained on its
// pooled embeddings in the training worker; the head is exported to ONNX and run after the
// encoder by onnxruntime, in-process, behind the same ChatModel as the other students.

const root = mkdtempSync(path.join(tmpdir(), 'encoder-student-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const data = clincSubset(['banking']);
const encoderDir = path.join(root, 'tiny-encoder');
writeTinyEncoder(encoderDir, { words: wordsOf(data.train.map((r) => r.text)), dim: 48, seed: 5, sentenceEmbedding: true });
const toExamples = (rows: { text: string; label: string }[]): TrainingExample[] => rows.map(({ text, label }) => ({ text, label }));
const encoderSettings = { path: encoderDir, head_epochs: 30 };

describe('sentence encoder', () => {
  it('pools last_hidden_state over the attention mask exactly as the graph pools sentence_embedding, batched or alone', async () => {
    const read = { pooling: 'mean' as const, normalize: false, maxTokens: 64 };
    const location = { path: encoderDir, modelFile: 'model.onnx', tokenizerFile: 'tokenizer.json' };
    const tokens = await SentenceEncoder.open(location, { ...read, output: 'last_hidden_state' });
    const sentence = await SentenceEncoder.open(location, read);
    try {
      expect(tokens.reference('embedding')).toMatchObject({ output: 'last_hidden_state', pooled: false, dimension: 48 });
      expect(sentence.reference('embedding')).toMatchObject({ output: 'sentence_embedding', pooled: true, dimension: 48 });
      const texts = ['how do I transfer money', 'freeze my card!!', '', 'Ünïcödé words nobody knows', 'x '.repeat(500)];
      const batched = (await tokens.embedTexts(texts, 2))!;
      for (const [i, text] of texts.entries()) {
        const a = await sentence.embed(text);
        expect(a.length).toBe(48);
        for (let d = 0; d < 48; d++) {
          expect(Math.abs(batched[i]![d]! - a[d]!), text).toBeLessThan(1e-5);
        }
      }
      // Truncated to max_tokens, the closing [SEP] kept.
      const long = tokens.tokenizer.encode('x '.repeat(500));
      expect(long.ids.length).toBe(64);
      expect(long.ids.at(-1)).toBe(tokens.tokenizer.encode('').ids.at(-1));
    } finally {
      await tokens.release();
      await sentence.release();
    }
  });
});

describe('encoder student', () => {
  it('trains in the worker beside the other kinds: the encoder candidate is evaluated, timed and sized', async () => {
    const result = await trainStudentInWorker(
      { labels: data.labels, train: toExamples(data.train), validation: toExamples(data.val) },
      { seed: 3, epochs: 4, conv_filters: 0, encoder: encoderSettings },
    );
    const kinds = result.candidates!.map((c) => c.kind);
    expect(kinds).toEqual(['ngrams', 'encoder']);
    const enc = result.candidates!.find((c) => c.kind === 'encoder')!;
    expect(enc.skipped).toBeUndefined();
    expect(enc.validationAccuracy).toBeGreaterThan(0.6);
    expect(enc.sizeInBytes).toBeGreaterThan(48 * 15 * 4);
    expect(enc.p50InMs).toBeGreaterThan(0);
    expect(enc.p99InMs).toBeGreaterThanOrEqual(enc.p50InMs!);
    expect(result.candidates!.filter((c) => c.chosen)).toHaveLength(1);
  }, 120_000);

  it('pinned: only the encoder kind trains; its head (ONNX, after the encoder) equals the TypeScript head and serves through OnnxStudentModel', async () => {
    const train = toExamples(data.train);
    // Soft labels on some rows, as a teacher with logprobs leaves them.
    train[0] = { ...train[0]!, teacherDistribution: { [train[0]!.label!]: 0.7, [data.labels[1]!]: 0.3 } };
    const trainingData = { labels: data.labels, train, validation: toExamples(data.val) };
    const hp = { seed: 3, encoder: { ...encoderSettings, pinned: true } };
    const result = await trainStudentInWorker(trainingData, hp, { calibrate: {} });
    expect(result.candidates).toEqual([expect.objectContaining({ kind: 'encoder', chosen: true })]);
    expect(result.metrics.softLabelExamples).toBe(1);
    expect(result.calibration?.n).toBe(data.val.length);
    const w = result.weights;
    expect(w.encoder).toMatchObject({ path: encoderDir, dimension: 48, output: 'sentence_embedding', headInput: 'embedding' });

    const store = new FsArtifactStore({ root: path.join(root, 'artifacts') });
    await writeStudentArtifacts(store, 'models/banking/1', w, { task: 'banking', calibration: { temperature: 1, eceBefore: 0, eceAfter: 0, n: 0 } });
    const stored = (await readStudentArtifacts(store, 'models/banking/1'))!;
    expect(stored.sidecar.encoder?.modelSha256).toBe(w.encoder!.modelSha256);
    expect(stored.model.byteLength).toBeLessThan(10_000); // the head alone; the encoder stays in its folder

    const student = (await OnnxStudentModel.fromArtifacts(store, { id: 'banking@1', artifactPath: 'models/banking/1' }, { sessionCache: new OnnxSessionCache() }))!;
    const again = (await OnnxStudentModel.fromArtifacts(store, { id: 'banking@1b', artifactPath: 'models/banking/1' }, { sessionCache: new OnnxSessionCache() }))!;
    const reference = await SentenceEncoder.open({ path: encoderDir, modelFile: 'model.onnx', tokenizerFile: 'tokenizer.json' }, { pooling: 'mean', normalize: true, maxTokens: 128 });
    try {
      await Promise.all([student.warm(), again.warm()]);
      expect(sharedEncoderCount()).toBe(1); // one encoder session for every version trained on it
      let correct = 0;
      for (const row of data.test) {
        const c = await student.classify(row.text);
        const ts = encoderHeadProbabilities(w, await reference.embed(row.text));
        for (let k = 0; k < data.labels.length; k++) expect(Math.abs(c.probabilities[k]! - ts[k]!)).toBeLessThan(1e-4);
        if (c.label === row.label) correct++;
      }
      expect(correct / data.test.length).toBeGreaterThan(0.6);
      const answer = await student.generate({ messages: [{ role: 'user', content: data.test[0]!.text }] });
      expect(data.labels).toContain(answer.text);
      expect(answer.confidence).toBeGreaterThan(0);
    } finally {
      await reference.release();
      await student.release();
      expect(sharedEncoderCount()).toBe(1); // still held by the other version
      await again.release();
      expect(sharedEncoderCount()).toBe(0);
    }
    // The head on its own, through onnxruntime: input `embedding`, outputs logits and probabilities.
    const session = await ort.InferenceSession.create(stored.model);
    expect(session.inputNames).toEqual(['embedding']);
    await session.release();
  }, 120_000);

  it('refuses to serve on an encoder that is not the one the head was trained on', async () => {
    const store = new FsArtifactStore({ root: path.join(root, 'artifacts') });
    const copy = path.join(root, 'changed-encoder');
    writeTinyEncoder(copy, { words: wordsOf(data.train.map((r) => r.text)), dim: 48, seed: 6, sentenceEmbedding: true });
    const stored = (await readStudentArtifacts(store, 'models/banking/1'))!;
    const moved = new OnnxStudentModel({ id: 'banking@moved', model: stored.model, sidecar: { ...stored.sidecar, encoder: { ...stored.sidecar.encoder!, path: copy } }, sessionCache: new OnnxSessionCache() });
    await expect(moved.classify('transfer money')).rejects.toMatchObject({ code: 'encoder_mismatch', status: 500 });
    const missing = new OnnxStudentModel({ id: 'banking@gone', model: stored.model, sidecar: { ...stored.sidecar, encoder: { ...stored.sidecar.encoder!, path: path.join(root, 'nowhere') } }, sessionCache: new OnnxSessionCache() });
    await expect(missing.classify('transfer money')).rejects.toMatchObject({ code: 'encoder_unavailable' });
    expect(sharedEncoderCount()).toBe(0);
  }, 60_000);
});

describe('encoder kind skipped, and why', () => {
  const small = { labels: data.labels, train: toExamples(data.train.slice(0, 300)), validation: toExamples(data.val.slice(0, 60)) };

  it('not configured: the other kinds train and the lineage records the encoder kind as not configured', async () => {
    const result = await trainStudentInWorker(small, { seed: 3, epochs: 2, conv_filters: 0 });
    expect(result.candidates).toEqual([
      expect.objectContaining({ kind: 'ngrams', chosen: true }),
      expect.objectContaining({ kind: 'encoder', chosen: false, skipped: 'not_configured', reason: expect.stringContaining('classification.student.encoder') }),
    ]);
  }, 60_000);

  it('configured but unusable: skipped with the reason; pinned, the job fails with it', async () => {
    const broken = path.join(root, 'broken-encoder');
    writeTinyEncoder(broken, { words: ['hello'] });
    writeFileSync(path.join(broken, 'model.onnx'), 'not an onnx model');
    const result = await trainStudentInWorker(small, { seed: 3, epochs: 2, conv_filters: 0, encoder: { path: broken } });
    expect(result.candidates!.find((c) => c.kind === 'encoder')).toMatchObject({ skipped: 'unavailable', reason: expect.stringContaining('not a valid ONNX model') });
    expect(result.candidates!.find((c) => c.chosen)?.kind).toBe('ngrams');
    await expect(trainStudentInWorker(small, { seed: 3, encoder: { path: path.join(root, 'nowhere'), pinned: true } })).rejects.toMatchObject({ code: 'encoder_unavailable' });
    const skip = await prepareEncoderCandidate(small, { encoder: { path: path.join(root, 'nowhere') } });
    expect(skip).toMatchObject({ skipped: 'unavailable', reason: expect.stringContaining('cannot be read') });
  }, 60_000);

  it('an encoder that opens but fails on the training data (inputs beyond its positions) is skipped with the reason; pinned, the job fails', async () => {
    const short = path.join(root, 'short-encoder');
    writeTinyEncoder(short, { words: wordsOf(small.train.map((e) => e.text)), maxPositions: 6 });
    const skip = await prepareEncoderCandidate(small, { encoder: { path: short } });
    expect(skip).toMatchObject({ skipped: 'unavailable', reason: expect.stringContaining('failed while embedding') });
    await expect(prepareEncoderCandidate(small, { encoder: { path: short, pinned: true } })).rejects.toThrow();
    // Within its positions it works, position_ids fed 0..n-1.
    const fits = await prepareEncoderCandidate(small, { encoder: { path: short, max_tokens: 6 } });
    expect('embeddings' in fits && fits.embeddings.train.filter(Boolean).length).toBe(small.train.length);
  }, 60_000);
});
