import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDistillery, type Distillery } from '../../src/compose/index.js';
import { loadConfig } from '../../src/config.js';
import type { JobRecord, TrainedModel, Trainer } from '../../src/core/ports.js';
import { clincSubset } from '../fixtures/clinc150.js';
import { startFakeFineTuningServer, type FakeFineTuningServer } from '../fixtures/fake-fine-tuning-server.js';
import { teacherLabelledPair } from '../fixtures/pair-records.js';

// #15 "every job reaches a terminal state", on embedded defaults with the real SQLite queue:
// - a job whose fine-tuning resource becomes unreachable fails once its message's deliveries
//   (with back-off) are used up — `dead_lettered`, with the upstream reason — and frees its task;
// - a job whose worker keeps dying (its lease left to expire) is resumed, and after 3 resumes
//   fails `job_stalled` with the reason.

const data = clincSubset(['banking']);
let dir: string;
const open: Distillery[] = [];
let ft: FakeFineTuningServer | undefined;
afterEach(async () => {
  for (const d of open.splice(0)) await d.close().catch(() => undefined);
  await ft?.close();
  ft = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function config(models: Record<string, unknown>, distill: Record<string, unknown>, env: Record<string, string> = {}) {
  return loadConfig({
    DISTILLERY_DATA_DIR: dir,
    ...env,
    DISTILLERY_CONFIG_JSON: JSON.stringify({
      models: { teacher: { baseURL: 'http://127.0.0.1:9/v1', auth: 'none' }, ...models },
      tasks: [{ name: 'intents', teacher: 'teacher', student: { source: 'registry' }, classification: { labels: data.labels }, routing: { policy: { type: 'pinned', arm: 'student' } }, distill: { threshold: null, dataset: { minExamples: 100 }, ...distill } }],
    }),
  });
}
const seed = (d: Distillery) => d.pairStore.upsertMany([...data.train, ...data.val].map((r, i) => teacherLabelledPair(i, { task: 'intents', text: r.text, label: r.label })));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutInMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('every job reaches an end', () => {
  it('a fine-tuning resource unreachable beyond the delivery budget fails the job (dead_lettered, with the reason) and frees the task', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'distillery-ends-'));
    ft = await startFakeFineTuningServer({ apiKey: 'ft-key' });
    const ftModel = { provider: 'azure-openai', endpoint: ft.azureEndpoint, deployment: 'unused', apiVersion: '2024-10-21', apiKeySetting: 'FT_API_KEY', auth: 'key', maxRetries: 0, timeoutInMs: 2_000 };
    const d = await createDistillery(config({ ft: ftModel }, { trainer: 'azure-openai', fineTuning: { modelRef: 'ft', pollIntervalInMs: 5 } }, { FT_API_KEY: 'ft-key', DISTILLERY_JOB_MAX_DELIVERIES: '3' }), {
      jobRedeliveryDelayInMs: (n) => 100 * n,
    });
    open.push(d);
    await seed(d);
    // Reachable when triggered (the preflight passes), gone before training starts.
    const { job } = await d.triggers.request('intents', { type: 'manual' });
    expect(job.state).toBe('queued');
    await ft.close();
    ft = undefined;
    const work = d.startBackgroundWork({ worker: true, scheduler: false });
    const ended = await until('the job to end', async () => {
      const j = await d.jobStore.get(job.id);
      return j && ['failed', 'succeeded', 'cancelled'].includes(j.state) ? j : undefined;
    });
    await work.stop();
    expect(ended).toMatchObject({ state: 'failed', deliveries: 3, error: { code: 'dead_lettered' } });
    expect(ended.error!.message).toMatch(/3 deliveries/);
    expect(ended.error!.message).toMatch(/unreachable|ECONNREFUSED|connect/i);
    expect(ended.lease).toBeUndefined();
    // The task is free: the next trigger queues a new job.
    expect((await d.triggers.request('intents', { type: 'manual' })).created).toBe(true);
  }, 120_000);

  it('a job whose worker dies again and again is resumed from its expired lease, then fails job_stalled after 3 resumes', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'distillery-ends-'));
    let trainingStarted: (() => void) | undefined;
    // The worker "dies" in training: the call never returns, and its process is closed under it.
    const dyingTrainer: Trainer = {
      kind: 'local-onnx',
      train: () => {
        trainingStarted?.();
        return new Promise<TrainedModel>(() => {});
      },
    };
    const cfg = config({}, {});
    const instance = async () => {
      const d = await createDistillery(cfg, { trainers: { 'local-onnx': dyingTrainer }, jobLeaseDurationInMs: 300 });
      open.push(d);
      return d;
    };
    const first = await instance();
    await seed(first);
    const { job } = await first.triggers.request('intents', { type: 'manual' });
    let last: JobRecord | undefined;
    for (let attempt = 0; attempt <= 4; attempt++) {
      const d = attempt === 0 ? first : await instance();
      if (attempt > 0) {
        // The dead worker's lease runs out: only then may another worker take the job over.
        await until('the lease to expire', async () => {
          const j = await d.jobStore.get(job.id);
          return j?.lease && Date.parse(j.lease.expiresAt) < Date.now() ? j : undefined;
        });
      }
      const started = new Promise<void>((r) => (trainingStarted = r));
      const running = d.runner.run(job.id);
      const outcome = await Promise.race([started.then(() => 'training' as const), running.then((r) => ((last = r), 'ended' as const))]);
      if (outcome === 'ended') break;
      const record = (await d.jobStore.get(job.id))!;
      expect(record).toMatchObject({ state: 'training', resumes: attempt });
      await d.close(); // the process dies mid-step, leaving its lease behind
    }
    expect(last).toMatchObject({ state: 'failed', resumes: 4, error: { code: 'job_stalled' } });
    expect(last!.error!.message).toMatch(/training.*4 times.*3 resumes/);
    expect(last!.lease).toBeUndefined();
  }, 120_000);
});
