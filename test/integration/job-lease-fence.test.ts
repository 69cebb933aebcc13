import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { LocalOnnxTrainer } from '../../src/adapters/onnx/local-onnx-trainer.js';
import { createDistillery, type Distillery } from '../../src/compose/index.js';
import { loadConfig } from '../../src/config.js';
import type { TrainedModel, Trainer, TrainRequest } from '../../src/core/ports.js';
import { clincSubset } from '../fixtures/clinc150.js';
import { teacherLabelledPair } from '../fixtures/pair-records.js';

// Found by the control-loop soak test: a worker that went silent past its lease while training
// (paused, cut off from the job store) kept training after another worker had resumed the job,
// and both registered a model version for the same job. A worker now renews its lease (an
// etag-guarded write) right before registering: a worker whose job was taken over steps back.

const data = clincSubset(['banking']);
let dir: string;
let d: Distillery | undefined;
afterEach(async () => {
  await d?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a worker whose lease was taken over while it trained does not register a second model version', async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'distillery-fence-'));
  const clock = { t: Date.now(), now() { return this.t; } };
  const local = new LocalOnnxTrainer({ artifacts: new FsArtifactStore({ root: path.join(dir, 'artifacts') }) });
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let started!: () => void;
  const firstStarted = new Promise<void>((r) => (started = r));
  let calls = 0;
  const slowFirst: Trainer = {
    kind: 'local-onnx',
    async train(request: TrainRequest, options) {
      if (calls++ === 0) {
        started();
        await released; // the first worker is silent here, beyond its lease
      }
      return local.train(request, options) as Promise<TrainedModel>;
    },
  };
  d = await createDistillery(
    loadConfig({
      DISTILLERY_DATA_DIR: dir,
      DISTILLERY_CONFIG_JSON: JSON.stringify({
        models: { teacher: { baseURL: 'http://127.0.0.1:9/v1', auth: 'none' } },
        tasks: [{ name: 'intents', teacher: 'teacher', student: { source: 'registry' }, classification: { labels: data.labels, student: { epochs: 1 } }, routing: { policy: { type: 'pinned', arm: 'student' } }, distill: { threshold: null, dataset: { minExamples: 100 }, gate: { minAgreement: 0.1, minTestExamples: 10 } } }],
      }),
    }),
    { clock, trainers: { 'local-onnx': slowFirst }, jobLeaseDurationInMs: 60_000 },
  );
  await d.pairStore.upsertMany([...data.train.slice(0, 300), ...data.val.slice(0, 60)].map((r, i) => teacherLabelledPair(i, { task: 'intents', text: r.text, label: r.label })));
  const { job } = await d.triggers.request('intents', { type: 'manual' });
  const first = d.runner.run(job.id);
  await firstStarted;
  clock.t += 61_000; // the first worker's lease ran out: a resume takes the job over
  const second = await d.runner.run(job.id);
  expect(second).toMatchObject({ state: 'succeeded', resumes: 1 });
  release();
  const late = await first;
  expect(late?.state).toBe('succeeded');
  const versions = [];
  for await (const v of d.registry.list('intents')) versions.push(v);
  expect(versions.map((v) => v.lineage.jobId)).toEqual([job.id]);
}, 120_000);
