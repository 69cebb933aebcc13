import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { AzureMLClient } from '../../src/adapters/azure-ml/azure-ml-rest-client.js';
import { AzureMLTrainer, azureMLJobNameOf, endpointNameOf } from '../../src/adapters/azure-ml/azure-ml-trainer.js';
import type { DatasetExample } from '../../src/core/distill/dataset-builder.js';
import { JobFailure } from '../../src/core/distill/job-failure.js';
import type { TrainRequest } from '../../src/core/ports.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { startFakeAzureMLServer, type FakeAzureMLOptions, type FakeAzureMLServer, fakeAzureMLClient } from '../fixtures/fake-azure-ml-server.js';

// Stage 2 on Azure ML against a fake ARM + workspace on loopback: data assets through the pending
// upload, the FineTuning job through its states, quota and throttling, resumption by Distillery
// job id, registration, and the serverless endpoint created by a long-running operation, which
// then answers OpenAI chat completions.

const ANSWERS = ['Open Settings, then Security, then Reset password.', 'Refunds arrive within 5 business days.', 'Use the tracking link in your email.'];
const PROMPTS = ['How do I reset my password?', 'How do I get a refund?', 'Where is my parcel?'];

function examples(n: number, split: DatasetExample['split']): DatasetExample[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${split}-${i}`,
    promptHash: `h${split}${i}`,
    split,
    messages: [{ role: 'user', content: `${PROMPTS[i % 3]} (${i})` }],
    target: ANSWERS[i % 3]!,
    createdAt: '2026-11-27T00:00:00.000Z',
  })) as DatasetExample[];
}

const task = (fineTuning: Record<string, unknown> = {}) =>
  taskSchema.parse({
    name: 'support',
    teacher: 'teacher',
    distill: { trainer: 'azure-ml', fineTuning: { baseModel: 'Phi-4-mini-instruct', n_epochs: 2, batch_size: 2, learning_rate_multiplier: 0.2, ...fineTuning } },
  });

const request = (jobId: string, fineTuning?: Record<string, unknown>): TrainRequest => ({
  jobId,
  task: task(fineTuning),
  datasetPath: `datasets/support/${jobId}`,
  train: examples(70, 'train'),
  validation: examples(9, 'validation'),
  teacherModel: 'DeepSeek-V3',
});

let aml: FakeAzureMLServer | undefined;
afterEach(async () => {
  await aml?.close();
  aml = undefined;
});

async function setup(options: FakeAzureMLOptions = {}, trainer: Partial<ConstructorParameters<typeof AzureMLTrainer>[0]> = {}) {
  aml = await startFakeAzureMLServer(options);
  const token = aml.token;
  const client = new AzureMLClient({
    workspaceId: aml.workspaceId,
    armEndpoint: aml.armEndpoint,
    credential: { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) },
    baseDelayInMs: 5,
    maxDelayInMs: 5_000,
    lroPollIntervalInMs: 5,
  });
  const log: string[] = [];
  return { client, log, trainer: new AzureMLTrainer({ client, modelRef: 'aml-serverless', pollIntervalInMs: 2, quotaRetryIntervalInMs: 5, log: (m) => log.push(m), ...trainer }) };
}

describe('AzureMLTrainer', () => {
  it('uploads data assets, runs the job through its states, registers and deploys the student, which then answers', async () => {
    const { trainer, log } = await setup();
    const model = await trainer.train(request('job-1'));
    const job = aml!.jobs.get(azureMLJobNameOf('job-1'))!;
    expect(job.statuses).toEqual(['NotStarted', 'Queued', 'Running', 'Completed']);
    const d = job.body.properties.fineTuningDetails;
    expect(d).toMatchObject({
      taskType: 'ChatCompletion',
      model: { uri: 'azureml://registries/azureml/models/Phi-4-mini-instruct' },
      trainingData: { uri: 'azureml:distillery-job-1-train:1' },
      validationData: { uri: 'azureml:distillery-job-1-validation:1' },
      hyperParameters: { n_epochs: '2', batch_size: '2', learning_rate_multiplier: '0.2' },
    });
    expect(job.body.properties.tags).toMatchObject({ distillery_job: 'job-1' });
    // The uploaded file is chat fine-tuning JSONL ending with the teacher's answer.
    const blob = [...aml!.blobs.entries()].find(([k]) => k.includes('-train/'))![1];
    expect(blob.trim().split('\n')).toHaveLength(70);
    expect(JSON.parse(blob.split('\n')[0]!).messages.at(-1)).toEqual({ role: 'assistant', content: ANSWERS[0] });
    // The endpoint was created by a long-running operation that was polled to its end.
    const name = endpointNameOf('job-1');
    expect(aml!.endpoints.get(name).properties).toMatchObject({ provisioningState: 'Succeeded', modelSettings: { modelId: expect.stringMatching(/^azureml:\/\/locations\/eastus2\/workspaces\/.+\/models\/support-distilled\/versions\/1$/) } });
    expect(aml!.requests.filter((r) => r.path.includes('mfeOperationsStatus')).length).toBe(3);
    expect(model).toMatchObject({
      kind: 'remote',
      endpoint: { modelRef: 'aml-serverless', baseURL: `${aml!.armEndpoint}/serverless/${name}`, model: 'Phi-4-mini-instruct' },
      hyperparameters: { registeredModel: 'support-distilled:1', serverlessEndpoint: name },
      metrics: { trainExamples: 70, validationExamples: 9, trainingTimeInMs: 3_600_000 },
    });
    expect(log.some((l) => l.includes('Running'))).toBe(true);
    // The served student speaks the OpenAI API and answers from what it learned.
    const client = new OpenAI({ baseURL: model.endpoint!.baseURL!, apiKey: 'endpoint-key', maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'Phi-4-mini-instruct', messages: [{ role: 'user', content: 'how can I get a refund please' }] });
    expect(answer.choices[0]!.message.content).toBe(ANSWERS[1]);
  }, 30_000);

  it('honours retry-after on 429 from ARM', async () => {
    const { trainer } = await setup({ throttle: { count: 2, retryAfter: '1' } });
    const started = Date.now();
    await trainer.train(request('job-429'));
    expect(aml!.requests.filter((r) => r.status === 429)).toHaveLength(2);
    // Two waits of one second each: the header was read, not the 5 ms back-off.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  }, 30_000);

  it('waits for quota instead of failing, then submits once', async () => {
    const { trainer, log } = await setup({ quotaErrors: 3 });
    await trainer.train(request('job-quota'));
    expect(log.filter((l) => /quota reached \(QuotaExceeded\)/.test(l))).toHaveLength(3);
    expect(aml!.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/jobs/distillery-job-quota') && r.status === 201)).toHaveLength(1);
  }, 30_000);

  it('gives up on quota after maxQuotaWaitInMs with a clear failure', async () => {
    const { trainer } = await setup({ quotaErrors: 1000 }, { maxQuotaWaitInMs: 50 });
    await expect(trainer.train(request('job-noquota'))).rejects.toMatchObject({ code: 'fine_tuning_quota_exhausted' });
  }, 30_000);

  it('resumes the job an earlier attempt submitted, without uploading or submitting again', async () => {
    const { trainer } = await setup();
    const stop = new AbortController();
    const first = trainer.train(request('job-resume'), { abortSignal: stop.signal, onProgress: (_, m) => m?.includes('submitted') && stop.abort(new Error('worker stopping')) });
    await expect(first).rejects.toThrow('worker stopping');
    const uploads = aml!.blobs.size;
    const model = await trainer.train(request('job-resume'));
    expect(model.kind).toBe('remote');
    expect(aml!.blobs.size).toBe(uploads);
    expect(aml!.requests.filter((r) => r.method === 'PUT' && r.path.includes('/jobs/'))).toHaveLength(1);
  }, 30_000);

  it.each([
    ['Failed', 'fine_tuning_failed', /too few tokens/],
    ['Canceled', 'fine_tuning_cancelled', /canceled/],
  ] as const)('ends the Distillery job when the Azure ML job ends %s', async (outcome, code, message) => {
    const { trainer } = await setup({ outcome: () => outcome });
    const err = await trainer.train(request(`job-${outcome}`)).catch((e) => e);
    expect(err).toBeInstanceOf(JobFailure);
    expect(err).toMatchObject({ code });
    expect(err.message).toMatch(message);
    expect(aml!.endpoints.size).toBe(0);
  }, 30_000);

  it('refuses a student Azure ML cannot fine-tune serverless', async () => {
    const { trainer } = await setup();
    await expect(trainer.train(request('job-x', { baseModel: 'gpt-4o-mini-2024-07-18' }))).rejects.toMatchObject({ code: 'unsupported_student' });
    expect(aml!.requests).toHaveLength(0);
  });

  it('registers the model itself when the job did not, and serves from a named existing endpoint', async () => {
    const { trainer } = await setup({ autoRegister: false });
    const first = await trainer.train(request('job-reg'));
    expect(aml!.requests.some((r) => r.method === 'PUT' && r.path.includes('/models/support-distilled/versions/'))).toBe(true);
    const named = new AzureMLTrainer({ client: (await setupClient()).client, modelRef: 'aml-serverless', pollIntervalInMs: 2, endpointName: endpointNameOf('job-reg') });
    const second = await named.train(request('job-reg-2'));
    expect(second.endpoint!.baseURL).toBe(first.endpoint!.baseURL);
    expect(aml!.requests.filter((r) => r.method === 'PUT' && r.path.includes('/serverlessEndpoints/'))).toHaveLength(1);
  }, 30_000);
});

async function setupClient() {
  const token = aml!.token;
  return {
    client: fakeAzureMLClient(aml!),
  };
}
