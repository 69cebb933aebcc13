import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createDistillery, type Distillery } from '../../src/compose/index.js';
import { loadConfig } from '../../src/config.js';
import { requestJobCancel } from '../../src/core/distill/job-cancel.js';
import type { TrainedModel, Trainer, TrainRequest } from '../../src/core/ports.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { clincSubset } from '../fixtures/clinc150.js';
import { teacherLabelledPair } from '../fixtures/pair-records.js';

// #15 "operators can act": POST /admin/jobs/{id}/cancel stops a job that is training — the abort
// reaches the trainer — and the job ends `cancelled`, freeing its task. A cancel left by another
// process reaches the worker through its heartbeat (the record's etag changes under it).

const data = clincSubset(['banking']);
const OPERATOR = 'dk-test-operator';
let dir: string;
let d: Distillery;
let training: { request: TrainRequest; signal: AbortSignal } | undefined;
let started!: () => void;
let trainingStarted: Promise<void>;

/** Trains until aborted (a long fine-tuning job), then fails with the abort reason as a trainer does. */
const hangingTrainer: Trainer = {
  kind: 'local-onnx',
  train: (request, options) =>
    new Promise<TrainedModel>((_, reject) => {
      training = { request, signal: options!.abortSignal! };
      started();
      options!.abortSignal!.addEventListener('abort', () => reject(options!.abortSignal!.reason), { once: true });
    }),
};

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'distillery-cancel-'));
  training = undefined;
  trainingStarted = new Promise((r) => (started = r));
  const config = loadConfig({
    DISTILLERY_DATA_DIR: dir,
    DISTILLERY_API_KEYS: JSON.stringify([{ tenant: '*', scopes: ['admin'], sha256: hashApiKey(OPERATOR) }]),
    DISTILLERY_CONFIG_JSON: JSON.stringify({
      models: { teacher: { baseURL: 'http://127.0.0.1:9/v1', auth: 'none' } },
      tasks: [
        {
          name: 'intents',
          teacher: 'teacher',
          student: { source: 'registry' },
          classification: { labels: data.labels },
          routing: { policy: { type: 'pinned', arm: 'student' } },
          distill: { threshold: null, dataset: { minExamples: 100 } },
        },
      ],
    }),
  });
  d = await createDistillery(config, { trainers: { 'local-onnx': hangingTrainer }, jobLeaseDurationInMs: 600 });
  await d.pairStore.upsertMany([...data.train, ...data.val].map((r, i) => teacherLabelledPair(i, { task: 'intents', text: r.text, label: r.label })));
});

afterEach(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

const admin = (p: string, method = 'GET') => d.app.request(p, { method, headers: { authorization: `Bearer ${OPERATOR}` } });

it('POST /admin/jobs/{id}/cancel aborts the training step and ends the job cancelled; the task is free again', async () => {
  const { job } = await d.triggers.request('intents', { type: 'manual' });
  const run = d.runner.run(job.id);
  await trainingStarted;
  const live = (await (await admin(`/admin/jobs/${job.id}`)).json()) as Record<string, unknown>;
  expect(live).toMatchObject({ state: 'training', lease: { live: true }, deliveries: 0, resumes: 0, nextRetryAt: null, lastError: null, cancelRequested: null });
  const res = await admin(`/admin/jobs/${job.id}/cancel`, 'POST');
  expect(res.status).toBe(202);
  const ended = (await run)!;
  expect(training!.signal.aborted).toBe(true);
  expect(ended).toMatchObject({ state: 'cancelled', error: { code: 'cancelled' } });
  expect(ended.error!.message).toMatch(/Cancelled by .* in 'training'/);
  expect(ended.lease).toBeUndefined();
  expect((await admin(`/admin/jobs/${job.id}/cancel`, 'POST')).status).toBe(200);
  expect((await d.triggers.request('intents', { type: 'manual' })).created).toBe(true);
}, 60_000);

it("a cancel written by another process reaches the running worker through its heartbeat", async () => {
  const { job } = await d.triggers.request('intents', { type: 'manual' });
  const run = d.runner.run(job.id);
  await trainingStarted;
  // No cancelLocal: as if the request came through another instance of the API.
  await requestJobCancel({ jobs: d.jobStore, queue: d.jobQueue, clock: { now: () => Date.now() } }, (await d.jobStore.get(job.id))!, 'elsewhere');
  const ended = (await run)!;
  expect(training!.signal.aborted).toBe(true);
  expect(ended).toMatchObject({ state: 'cancelled', cancelRequested: { by: 'elsewhere' } });
  // A finished job cannot be cancelled.
  const done = await d.triggers.request('intents', { type: 'manual' });
  expect(done.created).toBe(true);
}, 60_000);
