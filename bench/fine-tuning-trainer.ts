// What the Azure OpenAI fine-tuning trainer adds around the service's own time, against the
// fake fine-tuning server (a real HTTP server on 127.0.0.1, fast clock):
//
//   A. one whole run (upload train + validation, wait for the files, create, poll to success),
//      trainer vs the bare SDK sequence doing the same calls without lookup, events or result
//      file — the trainer's overhead per run, and its request count;
//   B. resuming: train() for a job that already succeeded, on a resource holding 100 jobs (Azure's
//      limit) and at least 50 files, vs one `jobs.retrieve` — the cost of finding earlier work.
//
//   npx tsx bench/fine-tuning-trainer.ts

import OpenAI, { toFile } from 'openai';
import { AzureOpenAIFineTuningTrainer } from '../src/adapters/openai/azure-openai-fine-tuning-trainer.js';
import { toChatFineTuningJsonl, type DatasetExample } from '../src/core/distill/dataset-builder.js';
import type { TrainRequest } from '../src/core/ports.js';
import { taskSchema } from '../src/core/tasks/task-schema.js';
import { startFakeFineTuningServer } from '../test/fixtures/fake-fine-tuning-server.js';

const TRAIN = 2_000;
const VALIDATION = 200;
const ROUNDS = 7;
const POLL_MS = 5;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.ceil(pos)]! - s[lo]!) * (pos - lo);
};
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

function examples(n: number, split: DatasetExample['split'], offset: number): DatasetExample[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${split}-${offset + i}`,
    promptHash: `h${offset + i}`,
    split,
    messages: [
      { role: 'system', content: 'You are a concise customer-support assistant.' },
      { role: 'user', content: `Order ${offset + i}: my parcel has not arrived after ${i % 14} days, what can I do?` },
    ],
    target: `Sorry about order ${offset + i}. If it is more than 10 days late we resend it free of charge; otherwise track it from your confirmation email.`,
    createdAt: '2026-11-27T00:00:00.000Z',
  })) as DatasetExample[];
}

const task = taskSchema.parse({ name: 'bench', teacher: 'teacher', distill: { trainer: 'azure-openai', fineTuning: { n_epochs: 1, batch_size: 8 } } });
const train = examples(TRAIN, 'train', 0);
const validation = examples(VALIDATION, 'validation', TRAIN);
const request = (jobId: string): TrainRequest => ({ jobId, task, datasetPath: `datasets/bench/${jobId}`, train, validation, teacherModel: 'teacher' });

async function bareRun(client: OpenAI, jobId: string) {
  const upload = async (name: string, rows: DatasetExample[]) => {
    let f = await client.files.create({ file: await toFile(Buffer.from(toChatFineTuningJsonl(rows)), name), purpose: 'fine-tune' });
    while (f.status !== 'processed') {
      await new Promise((r) => setTimeout(r, POLL_MS));
      f = await client.files.retrieve(f.id);
    }
    return f.id;
  };
  const trainingFile = await upload(`${jobId}-train.jsonl`, train);
  const validationFile = await upload(`${jobId}-validation.jsonl`, validation);
  let job = await client.fineTuning.jobs.create({ model: 'gpt-4o-mini-2024-07-18', training_file: trainingFile, validation_file: validationFile, hyperparameters: { n_epochs: 1, batch_size: 8 } });
  while (job.status !== 'succeeded') {
    await new Promise((r) => setTimeout(r, POLL_MS));
    job = await client.fineTuning.jobs.retrieve(job.id);
  }
  return job.fine_tuned_model;
}

async function main() {
  const server = await startFakeFineTuningServer({ tickInMs: 5, trainingTicks: 4, fileProcessingTicks: 1, maxQueued: 500 });
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'bench', maxRetries: 0 });
  const trainer = new AzureOpenAIFineTuningTrainer({ client, modelRef: 'ft-base', pollIntervalInMs: POLL_MS });
  const bytes = Buffer.byteLength(toChatFineTuningJsonl(train)) + Buffer.byteLength(toChatFineTuningJsonl(validation));

  // --- A: whole runs, alternating so both see the same machine load ------------------------------
  const bare: number[] = [];
  const ours: number[] = [];
  const bareRequests: number[] = [];
  const ourRequests: number[] = [];
  await bareRun(client, 'warmup-bare');
  await trainer.train(request('warmup'));
  for (let r = 0; r < ROUNDS; r++) {
    let n = server.requests.length;
    let t0 = performance.now();
    await bareRun(client, `bare-${r}`);
    bare.push(performance.now() - t0);
    bareRequests.push(server.requests.length - n);
    n = server.requests.length;
    t0 = performance.now();
    await trainer.train(request(`run-${r}`));
    ours.push(performance.now() - t0);
    ourRequests.push(server.requests.length - n);
  }

  // --- B: resume lookup on a full resource -----------------------------------------------------
  const target = await trainer.train(request('resume-target'));
  const seedFile = [...server.files.values()].find((f) => f.filename === 'distillery-resume-target-train.jsonl')!;
  while (server.files.size < 50) {
    await client.files.create({ file: await toFile(Buffer.from(toChatFineTuningJsonl(train.slice(0, 20))), `other-${server.files.size}.jsonl`), purpose: 'fine-tune' });
  }
  while (server.jobs.length < 100) await client.fineTuning.jobs.create({ model: 'gpt-4o-mini-2024-07-18', training_file: seedFile.id });
  const lookups: number[] = [];
  const retrieves: number[] = [];
  const targetJob = server.jobs.find((j) => j.fine_tuned_model === target.endpoint!.model)!;
  for (let i = 0; i < 30; i++) {
    let t0 = performance.now();
    const again = await trainer.train(request('resume-target'));
    lookups.push(performance.now() - t0);
    if (again.endpoint!.model !== target.endpoint!.model) throw new Error('resume found a different job');
    t0 = performance.now();
    await client.fineTuning.jobs.retrieve(targetJob.id);
    retrieves.push(performance.now() - t0);
  }
  if (server.jobs.filter((j) => j.metadata?.distillery_job === 'resume-target').length !== 1) throw new Error('resume created a job');
  await server.close();

  const med = (xs: number[]) => quantile(xs, 0.5);
  console.log(`A. whole run: ${TRAIN} train + ${VALIDATION} validation examples (${(bytes / 1e6).toFixed(2)} MB JSONL), poll every ${POLL_MS} ms, fake clock 5 ms × 4 training ticks; ${ROUNDS} rounds`);
  console.log(`   bare SDK sequence (baseline): p50 ${fmt(med(bare))}  p99 ${fmt(quantile(bare, 0.99))}  requests/run ${med(bareRequests)}`);
  console.log(`   AzureOpenAIFineTuningTrainer: p50 ${fmt(med(ours))}  p99 ${fmt(quantile(ours, 0.99))}  requests/run ${med(ourRequests)}`);
  console.log(`   ratio (p50): ${(med(ours) / med(bare)).toFixed(2)}×, overhead ${fmt(med(ours) - med(bare))} per run`);
  console.log(`B. resume of a finished job on a resource with ${server.jobs.length} jobs and ${server.files.size} files; 30 calls`);
  console.log(`   one jobs.retrieve (baseline): p50 ${fmt(med(retrieves))}  p99 ${fmt(quantile(retrieves, 0.99))}`);
  console.log(`   train() finding and reading it: p50 ${fmt(med(lookups))}  p99 ${fmt(quantile(lookups, 0.99))}  ratio ${(med(lookups) / med(retrieves)).toFixed(1)}×`);
}

await main();
