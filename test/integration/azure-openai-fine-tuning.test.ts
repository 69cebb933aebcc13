import OpenAI, { AzureOpenAI } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { AzureOpenAIFineTuningTrainer, fileNameOf, seedOf } from '../../src/adapters/openai/azure-openai-fine-tuning-trainer.js';
import { toChatFineTuningJsonl, type DatasetExample } from '../../src/core/distill/dataset-builder.js';
import { JobFailure } from '../../src/core/distill/job-runner.js';
import { UpstreamError } from '../../src/core/errors.js';
import type { TrainRequest } from '../../src/core/ports.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import { startFakeFineTuningServer, type FakeFineTuningServer, type FakeFineTuningServerOptions } from '../fixtures/fake-fine-tuning-server.js';

// Remote fine-tuning (stage 2 on Azure OpenAI) against a real HTTP server speaking the files and
// fine-tuning API: uploads, hyperparameters, polling, resumption after a crash, the per-resource
// job limit, failures, and the whole distillation job through compose ending in a served student.

// A support assistant: eight topics, each with one canonical teacher answer.
const TOPICS: { phrases: string[]; answer: string }[] = [
  { phrases: ['reset my password', 'recover my login', 'change my password'], answer: 'Open Settings, choose Security, then select Reset password and follow the link we email you.' },
  { phrases: ['get a refund', 'return my purchase', 'get my money back'], answer: 'Refunds are issued within 5 business days once the returned item reaches our warehouse.' },
  { phrases: ['track my shipment', 'find my parcel', 'see where my delivery is'], answer: 'Use the tracking link in your confirmation email; parcels update every few hours.' },
  { phrases: ['download an invoice', 'get a receipt', 'print my bill'], answer: 'Invoices are under Billing, History; each row has a PDF download button.' },
  { phrases: ['cancel my subscription', 'stop the monthly plan', 'end my membership'], answer: 'Go to Billing, Plan, and choose Cancel; you keep access until the period ends.' },
  { phrases: ['upgrade to premium', 'move to a bigger plan', 'buy more seats'], answer: 'Choose Billing, Plan, Upgrade; the price difference is prorated for this month.' },
  { phrases: ['delete my account', 'erase my data', 'close my profile'], answer: 'Account deletion is in Settings, Privacy; it is permanent after 30 days.' },
  { phrases: ['update my email address', 'change the contact email', 'use a new email'], answer: 'Edit the address in Settings, Profile and confirm it from the new inbox.' },
];
const TEMPLATES = [
  'How do I {x}?',
  'I need help to {x} today.',
  'Can you explain how to {x} on my account?',
  'What is the fastest way to {x}?',
  'Please tell me how I can {x}.',
  'Is it possible to {x} from the mobile app?',
  'I tried but could not {x}, what now?',
  'Quick question: how to {x}?',
  'My manager asked me to {x}, how?',
  'Hello, I would like to {x}.',
];
const PROMPTS = TOPICS.flatMap((t) => t.phrases.flatMap((p) => TEMPLATES.map((tpl) => tpl.replace('{x}', p))));
const teacherAnswer = (prompt: string) => TOPICS.find((t) => t.phrases.some((p) => prompt.includes(p)))?.answer ?? 'Let me connect you with an agent.';

const SYSTEM = 'You are a concise customer-support assistant.';
function examples(n: number, split: DatasetExample['split'], offset = 0): DatasetExample[] {
  return PROMPTS.slice(offset, offset + n).map((prompt, i) => ({
    id: `${split}-${offset + i}`,
    promptHash: `h${offset + i}`,
    split,
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: prompt },
    ],
    target: teacherAnswer(prompt),
    createdAt: '2026-11-27T00:00:00.000Z',
  })) as DatasetExample[];
}

const task = taskSchema.parse({
  name: 'support-replies',
  teacher: 'teacher',
  distill: {
    trainer: 'azure-openai',
    fineTuning: { baseModel: 'gpt-4o-mini-2024-07-18', n_epochs: 2, batch_size: 4, learning_rate_multiplier: 0.5, suffix: 'support' },
  },
});

function request(jobId: string, train = examples(40, 'train'), validation = examples(10, 'validation', 200)): TrainRequest {
  return { jobId, task, datasetPath: `datasets/support-replies/${jobId}`, train, validation, teacherModel: 'teacher' };
}

const servers: FakeFineTuningServer[] = [];
const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  for (const s of servers.splice(0)) await s.close();
});

async function fake(options: FakeFineTuningServerOptions = {}) {
  const s = await startFakeFineTuningServer(options);
  servers.push(s);
  return s;
}
const openaiClient = (s: FakeFineTuningServer) => new OpenAI({ baseURL: s.baseURL, apiKey: 'test', maxRetries: 0 });
const count = (s: FakeFineTuningServer, method: string, path: string) => s.requests.filter((r) => r.method === method && r.path === path).length;

describe('AzureOpenAIFineTuningTrainer', () => {
  it('uploads the JSONL files, creates the job with the hyperparameters, polls until it succeeds and returns the remote endpoint', async () => {
    const s = await fake();
    const progress: [number, string | undefined][] = [];
    const trainer = new AzureOpenAIFineTuningTrainer({ client: openaiClient(s), modelRef: 'ft-base', pollIntervalInMs: 5 });
    const req = request('support-replies.1');
    const trained = await trainer.train(req, { onProgress: (f, m) => progress.push([f, m]) });

    // Files: the exact chat fine-tuning JSONL of each split, named after the job.
    const uploads = s.requests.filter((r) => r.method === 'POST' && r.path === '/files').map((r) => r.body as { purpose: string; filename: string; content: string });
    expect(uploads.map((u) => u.filename)).toEqual([fileNameOf('support-replies.1', 'train'), fileNameOf('support-replies.1', 'validation')]);
    expect(uploads.every((u) => u.purpose === 'fine-tune')).toBe(true);
    expect(uploads[0]!.content).toBe(toChatFineTuningJsonl(req.train));
    expect(uploads[1]!.content).toBe(toChatFineTuningJsonl(req.validation));
    expect(JSON.parse(uploads[0]!.content.split('\n')[0]!).messages.at(-1)).toEqual({ role: 'assistant', content: req.train[0]!.target });

    // The job: base model, both files, hyperparameters from the task, suffix, a seed from the job id.
    expect(s.jobs).toHaveLength(1);
    const job = s.jobs[0]!;
    const created = s.requests.find((r) => r.method === 'POST' && r.path === '/fine_tuning/jobs')!.body as Record<string, unknown>;
    expect(created).toMatchObject({
      model: 'gpt-4o-mini-2024-07-18',
      training_file: job.training_file,
      validation_file: job.validation_file,
      hyperparameters: { n_epochs: 2, batch_size: 4, learning_rate_multiplier: 0.5 },
      suffix: 'support',
      seed: seedOf('support-replies.1'),
      metadata: { distillery_job: 'support-replies.1', distillery_task: 'support-replies' },
    });
    expect(s.files.get(job.training_file)!.content).toBe(uploads[0]!.content);

    // Polled through every state to success.
    expect(job.status).toBe('succeeded');
    expect(count(s, 'GET', `/fine_tuning/jobs/${job.id}`)).toBeGreaterThanOrEqual(3);
    expect(count(s, 'GET', `/fine_tuning/jobs/${job.id}/events`)).toBeGreaterThanOrEqual(3);
    expect(progress.map(([, m]) => m).join('\n')).toMatch(/running[\s\S]*step \d+\/\d+[\s\S]*succeeded[\s\S]*fine-tuned model/);
    const fractions = progress.map(([f]) => f);
    expect(fractions.at(-1)).toBe(1);

    // The remote student, with what it was trained with and how training went.
    const lastMetrics = [...job.internal.events].reverse().find((e) => e.type === 'metrics')!.data!;
    expect(trained).toMatchObject({
      kind: 'remote',
      endpoint: { modelRef: 'ft-base', model: job.fine_tuned_model },
      hyperparameters: { n_epochs: 2, batch_size: 4, learning_rate_multiplier: 0.5, baseModel: 'gpt-4o-mini-2024-07-18', fineTuningJobId: job.id, seed: seedOf('support-replies.1') },
      metrics: { trainExamples: 40, validationExamples: 10, trained_tokens: job.trained_tokens, train_loss: lastMetrics.train_loss, valid_loss: lastMetrics.valid_loss },
    });
    expect(trained.endpoint!.model).toMatch(/^gpt-4o-mini-2024-07-18\.ft-[0-9a-f]+-support$/);
    expect(trained.metrics.train_loss).toBeLessThan(0.5);

    // The fine-tuned model answers on the same service.
    const answer = await openaiClient(s).chat.completions.create({ model: trained.endpoint!.model, messages: [{ role: 'user', content: 'How can I reset my password please?' }] });
    expect(answer.choices[0]!.message.content).toBe(teacherAnswer('reset my password'));
  });

  it('works through the AzureOpenAI client (api-key, api-version) and reads losses from Azure-style event text', async () => {
    const s = await fake({ apiKey: 'azure-key', eventStyle: 'azure', fileProcessingTicks: 3 });
    const client = new AzureOpenAI({ endpoint: s.azureEndpoint, apiKey: 'azure-key', apiVersion: '2024-10-21', maxRetries: 0 });
    const deployed: string[] = [];
    const trainer = new AzureOpenAIFineTuningTrainer({
      client,
      modelRef: 'ft-base',
      pollIntervalInMs: 5,
      sendMetadata: false,
      // Azure serves a fine-tuned model through a deployment made on the control plane.
      deploymentName: (model) => (deployed.push(model), `support-replies-v2`),
    });
    const trained = await trainer.train(request('support-replies.2'));
    const job = s.jobs[0]!;
    expect(deployed).toEqual([job.fine_tuned_model]);
    expect(trained.endpoint).toEqual({ modelRef: 'ft-base', model: 'support-replies-v2' });
    expect(trained.hyperparameters.fineTunedModel).toBe(job.fine_tuned_model);
    expect(s.requests.every((r) => r.query.get('api-version') === '2024-10-21')).toBe(true);
    expect(s.requests.find((r) => r.path === '/fine_tuning/jobs' && r.method === 'POST')!.body).not.toHaveProperty('metadata');
    // Azure imports files before a job may use them: the trainer waited for `processed`.
    expect(count(s, 'GET', `/files/${job.training_file}`)).toBeGreaterThanOrEqual(1);
    const last = [...job.internal.events].reverse().find((e) => /^Step/.test(e.message))!.message;
    const [, trainLoss, validLoss] = /training loss=([\d.]+), validation loss=([\d.]+)/.exec(last)!;
    expect(trained.metrics).toMatchObject({ train_loss: Number(trainLoss), valid_loss: Number(validLoss) });

    // A wrong key is a configuration error: a permanent, typed job failure.
    const bad = new AzureOpenAIFineTuningTrainer({ client: new AzureOpenAI({ endpoint: s.azureEndpoint, apiKey: 'wrong', apiVersion: '2024-10-21', maxRetries: 0 }), modelRef: 'ft-base', pollIntervalInMs: 5 });
    const err = await bad.train(request('support-replies.3')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailure);
    expect((err as JobFailure).code).toBe('fine_tuning_rejected');
    expect((err as JobFailure).message).toMatch(/401/);
  });

  it('a retried train() for the same job resumes the earlier fine-tuning job instead of creating a second one', async () => {
    const s = await fake({ trainingTicks: 15 });
    const jobId = 'support-replies.4';
    // First attempt: the worker dies (abort) while the fine-tuning job runs.
    const controller = new AbortController();
    const first = new AzureOpenAIFineTuningTrainer({ client: openaiClient(s), modelRef: 'ft-base', pollIntervalInMs: 5 });
    const attempt = first.train(request(jobId), {
      abortSignal: controller.signal,
      onProgress: (_f, m) => {
        if (m && /: running$/.test(m)) controller.abort(new Error('worker died'));
      },
    });
    await expect(attempt).rejects.toThrow(/worker died/);
    expect(s.jobs).toHaveLength(1);
    expect(s.jobs[0]!.status).not.toBe('succeeded');

    // Second attempt, a fresh trainer (another worker): same job, no new uploads.
    const messages: string[] = [];
    const second = new AzureOpenAIFineTuningTrainer({ client: openaiClient(s), modelRef: 'ft-base', pollIntervalInMs: 5 });
    const trained = await second.train(request(jobId), { onProgress: (_f, m) => messages.push(m ?? '') });
    expect(messages[0]).toMatch(new RegExp(`resuming fine-tuning job ${s.jobs[0]!.id}`));
    expect(s.jobs).toHaveLength(1);
    expect(count(s, 'POST', '/files')).toBe(2);
    expect(count(s, 'POST', '/fine_tuning/jobs')).toBe(1);
    expect(trained.endpoint!.model).toBe(s.jobs[0]!.fine_tuned_model);

    // Someone starts another job on the same uploaded file: the job tagged with this job id wins.
    await openaiClient(s).fineTuning.jobs.create({ model: 'gpt-4o-mini-2024-07-18', training_file: s.jobs[0]!.training_file });
    // A third call after success returns the same model (same inputs, same outputs).
    const again = await second.train(request(jobId));
    expect(again.endpoint).toEqual(trained.endpoint);
    expect(s.jobs).toHaveLength(2);
  });

  it('a crash between upload and job creation reuses the uploaded files; a 5xx is a retryable upstream error', async () => {
    let failCreate = true;
    const s = await fake({ fault: ({ method, path }) => (failCreate && method === 'POST' && path === '/fine_tuning/jobs' ? { status: 503, code: 'serviceUnavailable' } : undefined) });
    const trainer = new AzureOpenAIFineTuningTrainer({ client: openaiClient(s), modelRef: 'ft-base', pollIntervalInMs: 5 });
    const err = await trainer.train(request('support-replies.5')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).retryable).toBe(true);
    expect(s.jobs).toHaveLength(0);
    failCreate = false;
    const trained = await trainer.train(request('support-replies.5'));
    expect(count(s, 'POST', '/files')).toBe(2);
    expect(s.jobs).toHaveLength(1);
    expect(trained.endpoint!.model).toBe(s.jobs[0]!.fine_tuned_model);
  });

  for (const quotaStatus of [429, 400] as const) {
    it(`waits while the resource's job limit is reached (${quotaStatus} quotaExceeded) and then succeeds`, async () => {
      // One running job and no queue: a second job is refused until the first one ends.
      const s = await fake({ maxQueued: 0, quotaStatus, trainingTicks: 20 });
      const client = openaiClient(s);
      const blocker = new AzureOpenAIFineTuningTrainer({ client, modelRef: 'ft-base', pollIntervalInMs: 5 });
      const log: string[] = [];
      const waiting = new AzureOpenAIFineTuningTrainer({ client, modelRef: 'ft-base', pollIntervalInMs: 5, quotaRetryIntervalInMs: 15, log: (m) => log.push(m) });
      const firstRun = blocker.train(request('other-task.1'));
      while (s.jobs.length === 0) await new Promise((r) => setTimeout(r, 5));
      const [a, b] = await Promise.all([firstRun, waiting.train(request('support-replies.6'))]);
      expect(s.jobs).toHaveLength(2);
      expect(s.jobs.every((j) => j.status === 'succeeded')).toBe(true);
      expect(count(s, 'POST', '/fine_tuning/jobs')).toBeGreaterThan(2); // refused at least once
      expect(log.join('\n')).toMatch(/resource limit reached \(quotaExceeded\|?.*\), waiting/);
      expect(s.maxRunningSeen).toBe(1);
      expect(a.endpoint!.model).not.toBe(b.endpoint!.model);
      // The second job was only accepted once the first had finished.
      expect(s.jobs[1]!.created_at).toBeGreaterThanOrEqual(s.jobs[0]!.finished_at!);
    });
  }

  it('gives up with a clear failure when the quota stays exhausted past the configured wait', async () => {
    const s = await fake({ maxQueued: 0, trainingTicks: 10_000 });
    const client = openaiClient(s);
    const stopBlocker = new AbortController();
    const blocker = new AzureOpenAIFineTuningTrainer({ client, modelRef: 'ft-base', pollIntervalInMs: 20 })
      .train(request('other-task.2'), { abortSignal: stopBlocker.signal })
      .catch((e: unknown) => e);
    while (s.jobs.length === 0) await new Promise((r) => setTimeout(r, 5));
    const trainer = new AzureOpenAIFineTuningTrainer({ client, modelRef: 'ft-base', pollIntervalInMs: 5, quotaRetryIntervalInMs: 10, maxQuotaWaitInMs: 60 });
    const err = await trainer.train(request('support-replies.7')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailure);
    expect((err as JobFailure).code).toBe('fine_tuning_quota_exhausted');
    expect((err as JobFailure).message).toMatch(/maximum number of queued fine-tuning jobs/);
    expect(s.jobs).toHaveLength(1);
    stopBlocker.abort(new Error('test over'));
    expect(await blocker).toMatchObject({ message: 'test over' });
  });

  it('a failed fine-tuning job becomes a clear job failure, and so does a rejected training file', async () => {
    const s = await fake({ failJob: (job) => (job.model === 'gpt-4o-mini-2024-07-18' ? { code: 'internalFailure', message: 'Training diverged: loss became NaN at step 3' } : undefined) });
    const trainer = new AzureOpenAIFineTuningTrainer({ client: openaiClient(s), modelRef: 'ft-base', pollIntervalInMs: 5 });
    const err = await trainer.train(request('support-replies.8')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailure);
    expect((err as JobFailure).code).toBe('fine_tuning_failed');
    expect((err as JobFailure).message).toMatch(new RegExp(`Fine-tuning job ${s.jobs[0]!.id} on gpt-4o-mini-2024-07-18 failed: Training diverged: loss became NaN at step 3 \\(internalFailure\\)`));
    // Retrying the same job does not start a new paid run: it reports the same failure.
    await expect(trainer.train(request('support-replies.8'))).rejects.toThrow(/Training diverged/);
    expect(s.jobs).toHaveLength(1);

    // The service's file validation (minimum examples) rejects a too-small training file.
    const strict = await fake({ minExamples: 50 });
    const t2 = new AzureOpenAIFineTuningTrainer({ client: openaiClient(strict), modelRef: 'ft-base', pollIntervalInMs: 5 });
    const fileErr = await t2.train(request('support-replies.9')).catch((e: unknown) => e);
    expect(fileErr).toBeInstanceOf(JobFailure);
    expect((fileErr as JobFailure).code).toBe('fine_tuning_file_rejected');
    expect((fileErr as JobFailure).message).toMatch(/40 example\(s\), but must have at least 50/);
    expect(strict.jobs).toHaveLength(0);

    // No training data at all is refused before anything is uploaded.
    await expect(t2.train(request('support-replies.10', []))).rejects.toMatchObject({ code: 'no_training_data' });
  });

  it('a fine-tuning job that outlives maxTrainingTimeInMs fails the job with a time-out', async () => {
    const s = await fake({ trainingTicks: 100_000 });
    const trainer = new AzureOpenAIFineTuningTrainer({ client: openaiClient(s), modelRef: 'ft-base', pollIntervalInMs: 10, maxTrainingTimeInMs: 150 });
    const err = await trainer.train(request('support-replies.11')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailure);
    expect((err as JobFailure).code).toBe('fine_tuning_timeout');
    expect((err as JobFailure).message).toMatch(new RegExp(`^Fine-tuning job ${s.jobs[0]!.id} did not finish within 150 ms \\(last status (validating_files|queued|running)\\)\\.$`));
  });
});

describe('a generative task distilled through Azure OpenAI fine-tuning, composed', () => {
  it('runs queued → … → succeeded, registers a remote version and the gateway serves it', async () => {
    const s = await fake({ apiKey: 'ft-key' });
    // `ft-base`: the Azure OpenAI resource that fine-tunes and serves the fine-tuned deployments.
    const ftBase = { provider: 'azure-openai', endpoint: s.azureEndpoint, deployment: 'unused', apiVersion: '2024-10-21', apiKeySetting: 'FT_API_KEY', auth: 'key', maxRetries: 0, timeoutInMs: 5_000 };
    // The composition builds the trainer from the task's fineTuning.modelRef, as in production.
    const h = await startHarness({
      teacher: { answer: (req) => ({ text: teacherAnswer(String(req.body.messages.at(-1).content)) }) },
      models: { 'ft-base': ftBase },
      env: { FT_API_KEY: 'ft-key' },
      tasks: [
        {
          name: 'support-replies',
          teacher: 'teacher',
          student: { source: 'registry' },
          routing: { policy: { type: 'pinned', arm: 'student' } },
          distill: {
            trainer: 'azure-openai',
            threshold: null,
            dataset: { minExamples: 50 },
            gate: { minAgreement: 0.8, minTestExamples: 10, maxP95LatencyInMs: 2_000 },
            fineTuning: { baseModel: 'gpt-4o-mini-2024-07-18', n_epochs: 2, suffix: 'support', modelRef: 'ft-base', pollIntervalInMs: 5 },
          },
        },
      ],
      compose: { studentRefreshInMs: 50 },
    });
    harnesses.push(h);
    const d = h.distillery;

    const chat = async (prompt: string) => {
      const res = await d.app.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'support-replies', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: prompt }] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { choices: { message: { content: string } }[] };
      return { arm: res.headers.get('x-distillery-arm'), text: body.choices[0]!.message.content };
    };

    // Traffic: with no student yet, the teacher answers and every exchange becomes a pair.
    const seen = PROMPTS.filter((_, i) => i % 6 !== 0);
    const unseen = PROMPTS.filter((_, i) => i % 6 === 0);
    for (const p of seen) expect((await chat(p)).arm).toBe('teacher');
    await d.pairWriter.flush();

    const { job: queued, created } = await d.triggers.request('support-replies', { type: 'manual', detail: 'test' });
    expect(created).toBe(true);
    expect(queued.state).toBe('queued');
    const states: string[] = [];
    const done = await d.runner.run(queued.id);
    for await (const j of d.jobStore.list({ task: 'support-replies' })) states.push(...j.log.map((l) => l.message));
    expect(done!.state, JSON.stringify(done!.error ?? done!.steps)).toBe('succeeded');
    expect(done!.outcome, JSON.stringify(done!.steps)).toBe('promoted');
    expect(states.join('\n')).toMatch(/started[\s\S]*dataset[\s\S]*trained candidate support-replies@1[\s\S]*promoted support-replies@1/);

    // What went to the fine-tuning service: the dataset's train and validation exports.
    const ftJob = s.jobs[0]!;
    expect(s.jobs).toHaveLength(1);
    const trainFile = s.files.get(ftJob.training_file)!;
    expect(trainFile.filename).toBe(fileNameOf(queued.id, 'train'));
    const exported = new TextDecoder().decode(await d.artifacts.get(`datasets/support-replies/${queued.id}/train.jsonl`));
    expect(trainFile.content).toBe(exported);
    expect(s.files.get(ftJob.validation_file!)!.content).toBe(new TextDecoder().decode(await d.artifacts.get(`datasets/support-replies/${queued.id}/validation.jsonl`)));
    expect(ftJob.hyperparameters.n_epochs).toBe(2);
    // Resource-level routes through the production client: no deployment in the path, the api-version on each call.
    expect(s.requests.filter((r) => r.path.startsWith('/files') || r.path.startsWith('/fine_tuning')).every((r) => r.query.get('api-version') === '2024-10-21')).toBe(true);

    // The registered remote version, promoted, with its lineage and training metrics.
    const promoted = await d.registry.getPromoted('support-replies');
    expect(promoted).toMatchObject({
      version: 1,
      kind: 'remote',
      endpoint: { modelRef: 'ft-base', model: ftJob.fine_tuned_model },
      lineage: { jobId: queued.id, teacherModel: 'teacher', hyperparameters: { fineTuningJobId: ftJob.id, n_epochs: 2 } },
    });
    expect(promoted!.metrics!.trained_tokens).toBe(ftJob.trained_tokens);
    const evaluation = done!.steps.evaluation as { candidate: { agreement: number; errors: number } };
    expect(evaluation.candidate.errors).toBe(0);
    expect(evaluation.candidate.agreement).toBeGreaterThanOrEqual(0.8);

    // The gateway now serves unseen prompts from the fine-tuned deployment.
    await new Promise((r) => setTimeout(r, 100));
    const before = s.completions.length;
    const served = [];
    for (const p of unseen) served.push({ p, ...(await chat(p)) });
    expect(served.every((r) => r.arm === 'student')).toBe(true);
    expect(s.completions.length - before).toBe(unseen.length);
    expect(s.completions.slice(before).every((c) => c.model === ftJob.fine_tuned_model)).toBe(true);
    const agree = served.filter((r) => r.text === teacherAnswer(r.p)).length / served.length;
    expect(agree).toBeGreaterThanOrEqual(0.8);
  }, 60_000);
});
