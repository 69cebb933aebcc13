import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARM_SCOPE } from '../../src/adapters/azure-ml/azure-ml-rest-client.js';
import { endpointNameOf } from '../../src/adapters/azure-ml/azure-ml-trainer.js';
import { AZURE_ML_INFERENCE_SCOPE } from '../../src/adapters/azure-ml/serverless-endpoint-auth.js';
import { azureMLTrainer } from '../../src/compose/azure-ml-trainer.js';
import type { DatasetExample } from '../../src/core/distill/dataset-builder.js';
import { JobFailure } from '../../src/core/distill/job-failure.js';
import { DistilleryError } from '../../src/core/errors.js';
import type { TrainedModel, TrainRequest } from '../../src/core/ports.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import { startFakeAzureMLServer, type FakeAzureMLServer } from '../fixtures/fake-azure-ml-server.js';

// Issue 18: an Azure ML serverless endpoint takes a key or a Microsoft Entra token for
// https://ml.azure.com/.default. The configured model a student is served under decides which:
// with `auth: entra` the azure-ml trainer deploys the endpoint with authMode AAD and the serving
// side calls it with a token from the token credential (DefaultAzureCredential in production, a
// fake credential here); with `auth: key` it calls one named endpoint with its key. The fake
// endpoint checks the bearer token it is given.

const ENTRA_TOKEN = 'entra-token-for-ml.azure.com';
const SHARED_KEY = 'shared-endpoint-key';
const ANSWERS = ['Open Settings, then Security, then Reset password.', 'Refunds arrive within 5 business days.', 'Use the tracking link in your email.'];
const PROMPTS = ['How do I reset my password?', 'How do I get a refund?', 'Where is my parcel?'];

/** A token credential as @azure/identity's are called: one token per scope, every request noted. */
class FakeTokenCredential implements TokenCredential {
  readonly scopes: string[] = [];
  constructor(private readonly armToken: () => string) {}
  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    const scope = [scopes].flat().join(' ');
    this.scopes.push(scope);
    const token = scope === ARM_SCOPE ? this.armToken() : scope === AZURE_ML_INFERENCE_SCOPE ? ENTRA_TOKEN : `token-for-${scope}`;
    return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

const examples = (n: number, split: DatasetExample['split']): DatasetExample[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${split}-${i}`,
    promptHash: `h${split}${i}`,
    split,
    messages: [{ role: 'user', content: `${PROMPTS[i % 3]} (${i})` }],
    target: ANSWERS[i % 3]!,
    createdAt: '2026-11-27T00:00:00.000Z',
  }));

const servingModel = (extra: Record<string, unknown>) => ({ provider: 'openai', baseURL: 'http://127.0.0.1:9/unused', maxRetries: 0, timeoutInMs: 5_000, ...extra });

describe('Azure ML serverless students called with Entra ID or a key', () => {
  let aml: FakeAzureMLServer;
  let h: Harness;
  let credential: FakeTokenCredential;
  let trainer: ReturnType<typeof azureMLTrainer>;

  const taskConfig = (name: string, modelRef: string, endpointName?: string) =>
    taskSchema.parse({
      name,
      teacher: 'teacher',
      student: { source: 'registry' },
      routing: { policy: { type: 'pinned', arm: 'student' }, fallback: false },
      distill: {
        trainer: 'azure-ml',
        fineTuning: { baseModel: 'Phi-4-mini-instruct', modelRef, pollIntervalInMs: 1, azureMl: { workspace: aml.workspaceId, ...(endpointName ? { endpointName } : {}) } },
      },
    });
  const request = (jobId: string, task: ReturnType<typeof taskConfig>): TrainRequest => ({
    jobId,
    task,
    datasetPath: `datasets/${task.name}/${jobId}`,
    train: examples(70, 'train'),
    validation: examples(9, 'validation'),
    teacherModel: 'teacher',
  });

  /** Registers and promotes the trained model as the task's student, as the training step does, then asks it through the chat API. */
  async function serveAndAsk(task: string, jobId: string, trained: TrainedModel) {
    const v = await h.distillery.registry.create({ task, kind: trained.kind, ...(trained.endpoint ? { endpoint: trained.endpoint } : {}), lineage: { jobId }, metrics: trained.metrics });
    await h.distillery.registry.promote(task, v.version);
    const res = await h.distillery.app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: task, messages: [{ role: 'user', content: 'how can I get a refund please' }] }),
    });
    return { status: res.status, arm: res.headers.get('x-distillery-arm'), body: (await res.json()) as any };
  }

  beforeAll(async () => {
    aml = await startFakeAzureMLServer({ inferenceAuth: { entraToken: ENTRA_TOKEN, keys: { 'shared-endpoint': SHARED_KEY } } });
    credential = new FakeTokenCredential(() => aml.token);
    h = await startHarness({
      models: {
        'aml-entra': servingModel({ auth: 'entra', tokenScope: AZURE_ML_INFERENCE_SCOPE }),
        'aml-key': servingModel({ auth: 'key', apiKeySetting: 'AML_SHARED_ENDPOINT_KEY' }),
        'aml-cognitive-scope': servingModel({ auth: 'entra' }),
      },
      tasks: [taskConfig('support-entra', 'aml-entra'), taskConfig('support-key', 'aml-key', 'shared-endpoint')],
      env: { AML_SHARED_ENDPOINT_KEY: SHARED_KEY },
      compose: { credential },
    });
    // The compose function the deployment uses, with ARM's URL pointed at the fake workspace.
    const armFetch: typeof fetch = (input, init) => fetch(String(input instanceof Request ? input.url : input).replace('https://management.azure.com', aml.armEndpoint), init);
    trainer = azureMLTrainer(h.distillery.config, { credential, fetch: armFetch }, () => undefined);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await aml?.close();
  });

  it('auth entra: deploys an AAD endpoint and serves the student with an Entra token for https://ml.azure.com/.default', async () => {
    const task = taskConfig('support-entra', 'aml-entra');
    await trainer.preflight!(task);
    const trained = await trainer.train(request('job-entra', task));
    const endpoint = aml.endpoints.get(endpointNameOf('job-entra'));
    expect(endpoint.properties.authMode).toBe('AAD');

    const served = await serveAndAsk('support-entra', 'job-entra', trained);
    expect(served.status, JSON.stringify(served.body)).toBe(200);
    expect(served.arm).toBe('student');
    expect(served.body.choices[0].message.content).toBe(ANSWERS[1]);
    const calls = aml.completions.filter((c) => c.endpoint === endpointNameOf('job-entra'));
    expect(calls.length).toBeGreaterThanOrEqual(1);
    for (const c of calls) expect(c.authorization).toBe(`Bearer ${ENTRA_TOKEN}`);
    expect(credential.scopes).toContain(AZURE_ML_INFERENCE_SCOPE);
    expect(credential.scopes).not.toContain('https://cognitiveservices.azure.com/.default');
  }, 60_000);

  it('auth key: serves from the named endpoint with its key, and refuses an endpoint that takes the other auth', async () => {
    const uri = `${aml.armEndpoint}/serverless/shared-endpoint`;
    aml.endpoints.set('shared-endpoint', { name: 'shared-endpoint', properties: { authMode: 'Key', provisioningState: 'Succeeded', inferenceEndpoint: { uri } } });
    const task = taskConfig('support-key', 'aml-key', 'shared-endpoint');
    await trainer.preflight!(task);
    const trained = await trainer.train(request('job-key', task));
    expect(trained.endpoint).toMatchObject({ modelRef: 'aml-key', baseURL: uri });
    // The named endpoint answers with what the job trained (the fake serves the newest model).
    aml.endpoints.get('shared-endpoint').properties.modelSettings = { modelId: `azureml://locations/eastus2/workspaces/x/models/support-key-distilled/versions/1` };
    const served = await serveAndAsk('support-key', 'job-key', trained);
    expect(served.status, JSON.stringify(served.body)).toBe(200);
    expect(aml.completions.filter((c) => c.endpoint === 'shared-endpoint').every((c) => c.authorization === `Bearer ${SHARED_KEY}`)).toBe(true);

    // An Entra-served model over an endpoint deployed for keys would get 401 on every call: the job fails first.
    aml.endpoints.get('shared-endpoint').properties.authMode = 'AAD';
    await expect(trainer.train(request('job-key-2', task))).rejects.toThrow(/takes AAD auth, but model 'aml-key' calls it with a key/);
  }, 60_000);

  it('refuses, before any paid call, a serving model that could not call the endpoint (400 naming the setting)', async () => {
    const before = aml.requests.length;
    const cases: [ReturnType<typeof taskConfig>, string][] = [
      [taskConfig('t1', 'aml-cognitive-scope'), 'models.aml-cognitive-scope.tokenScope'],
      [taskConfig('t2', 'aml-key'), 'models.aml-key.auth'], // a key cannot call per-job endpoints
    ];
    for (const [task, param] of cases) {
      const err = await trainer.preflight!(task).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DistilleryError);
      expect(err).toMatchObject({ status: 400, param, code: 'invalid_endpoint_auth' });
      // A job that reaches training with it fails with the reason instead of being redelivered.
      await expect(trainer.train(request(`job-${task.name}`, task))).rejects.toBeInstanceOf(JobFailure);
    }
    expect(aml.requests.length).toBe(before);
  });
});
