import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { LocalOnnxTrainer } from '../../src/adapters/onnx/local-onnx-trainer.js';
import { OnnxSessionCache } from '../../src/adapters/onnx/onnx-session-cache.js';
import { OnnxStudentModel } from '../../src/adapters/onnx/onnx-student-model.js';
import { readStudentArtifacts } from '../../src/adapters/onnx/student-artifacts.js';
import { chatCompletionRequestSchema } from '../../src/core/chat/chat-request-schema.js';
import { evaluateCascade } from '../../src/core/distill/cascade-evaluation.js';
import type { DatasetExample } from '../../src/core/distill/dataset-builder.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import type { ChatModel } from '../../src/core/ports.js';
import { ChatGateway } from '../../src/core/routing/chat-gateway.js';
import { taskRuntime } from '../../src/core/tasks/task-catalog.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { clincSubset } from '../fixtures/clinc150.js';

// The calibrated cascade end to end on real parts: the local trainer (worker thread) fits the
// temperature and picks τ for the task's target on the validation split, writes both with the
// artifacts and the version metrics; onnxruntime serves the calibrated confidence; the gateway
// escalates by the version's τ; the evaluation step reports the curve on the test split.

const root = mkdtempSync(path.join(tmpdir(), 'calibrated-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const data = clincSubset(['banking', 'credit_cards', 'travel']);
const toExample = (split: DatasetExample['split']) => (r: { text: string; label: string }, i: number): DatasetExample => ({
  id: `${split}-${i}`,
  promptHash: `${split}-${i}`,
  split,
  messages: [{ role: 'user', content: r.text }],
  target: r.label,
  label: r.label,
  reference: r.label,
  createdAt: '2026-01-01T00:00:00.000Z',
});

const config = taskSchema.parse({
  name: 'intents',
  teacher: 'teacher',
  student: { source: 'registry' },
  classification: { labels: data.labels, student: { seed: 3, epochs: 8 } },
  routing: { policy: { type: 'cascade', target: { minAgreement: 0.97 } } },
});

describe('calibrated cascade on a trained student', () => {
  it('stores T and τ with the version, serves calibrated confidences, and routes by the stored τ', async () => {
    const artifacts = new FsArtifactStore({ root });
    const trained = await new LocalOnnxTrainer({ artifacts }).train({
      jobId: 'job-1',
      task: config,
      datasetPath: 'datasets/intents/job-1',
      train: data.train.map(toExample('train')),
      validation: data.val.map(toExample('validation')),
      teacherModel: 'gold',
    });
    const m = trained.metrics!;
    expect(m.calibrationTemperature).toBeGreaterThan(0);
    expect(m.eceAfter).toBeLessThanOrEqual(m.eceBefore!);
    expect(m.cascadeTargetMet).toBe(1);
    expect(m.cascadeValidationAgreementLowerBound).toBeGreaterThanOrEqual(0.97);
    const stored = (await readStudentArtifacts(artifacts, trained.artifactPath!))!;
    expect(stored.sidecar.calibration?.temperature).toBeCloseTo(m.calibrationTemperature!, 10);
    expect(stored.sidecar.cascade).toMatchObject({ threshold: m.cascadeThreshold, target: { minAgreement: 0.97, confidence: 0.95 } });

    const student = (await OnnxStudentModel.fromArtifacts(artifacts, { id: 'intents@1', artifactPath: trained.artifactPath! }, { sessionCache: new OnnxSessionCache() }))!;
    expect(student.cascadeCalibration).toEqual({ threshold: m.cascadeThreshold, target: { minAgreement: 0.97, confidence: 0.95 } });
    // Served confidence is softmax(logits / T): compare with an uncalibrated copy of the same model.
    const raw = new OnnxStudentModel({ id: 'intents@raw', model: stored.model, sidecar: { ...stored.sidecar, calibration: undefined }, sessionCache: new OnnxSessionCache() });
    const text = data.test[0]!.text;
    const [c, r] = [await student.classify(text), await raw.classify(text)];
    expect(c.label).toBe(r.label);
    if (Math.abs(m.calibrationTemperature! - 1) > 0.05) expect(c.confidence).not.toBeCloseTo(r.confidence, 3);

    // The gateway escalates exactly the answers below the version's τ.
    const pairs: PairRecord[] = [];
    const teacher: ChatModel = {
      id: 'teacher',
      hosting: 'remote',
      generate: async () => ({ model: 'teacher', text: 'T', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 } }),
      stream: async function* () {},
    };
    const task = taskRuntime(config);
    const gateway = new ChatGateway({ models: { teacher: () => teacher, student: async () => student }, pairs: { enqueue: (p) => (pairs.push(p), true) }, clock: { now: () => 0 }, random: () => 0.5 });
    let escalated = 0;
    for (const row of data.test.slice(0, 60)) {
      const res = await gateway.complete({ requestId: row.text, tenant: 't', task, request: chatCompletionRequestSchema.parse({ model: 'intents', messages: [{ role: 'user', content: row.text }] }) });
      const confidence = (await student.classify(row.text)).confidence;
      expect(res.arm).toBe(confidence >= m.cascadeThreshold! ? 'student' : 'teacher');
      expect(res.reason).toContain("version's τ for minAgreement 0.97");
      if (res.arm === 'teacher') escalated++;
    }
    expect(escalated).toBeGreaterThan(0);
    expect(escalated).toBeLessThan(60);

    // The evaluation step's report on the test split: curve, ECE, the chosen point.
    const cascade = (await evaluateCascade({ task, test: data.test.map(toExample('test')), candidate: student }))!;
    expect(cascade.chosen.threshold).toBe(m.cascadeThreshold);
    expect(cascade.chosen.source).toContain("version's τ");
    expect(cascade.curve.map((p) => p.threshold)).toContain(0.5);
    expect(cascade.chosen.servedAccuracy).toBeGreaterThanOrEqual(cascade.curve.find((p) => p.threshold === 0)!.servedAccuracy!);
    expect(cascade.chosen.targetMetOnTest).toBe(true);
    await student.release();
    await raw.release();
  }, 120_000);
});
