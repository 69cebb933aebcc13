import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureMLTrainer } from '../../src/adapters/azure-ml/azure-ml-trainer.js';
import type { BackgroundWork } from '../../src/compose/index.js';
import { KEYS, startHarness, type Harness, followDistillation, submitDistillation } from '../fixtures/distillery-harness.js';
import { startFakeAzureMLServer, type FakeAzureMLServer, fakeAzureMLClient } from '../fixtures/fake-azure-ml-server.js';
import type { FakeRequest } from '../fixtures/fake-openai-server.js';

// The case study end to end: a support-conversation dataset, an azureml-examples distillation job
// submitted as it is (YAML as JSON) through the admin API, stage 1 answered by a fake DeepSeek-V3
// teacher over HTTP, stage 2 on a fake Azure ML workspace (data assets, FineTuning job, registered
// model, serverless endpoint), the student registered as a remote version behind that endpoint,
// and a report comparing student and teacher with conversation metrics and Azure ML's cost lines.

const TOPICS = [
  { key: 'password', answer: 'Open Settings, choose Security, then Reset password and follow the emailed link.' },
  { key: 'refund', answer: 'Refunds are issued within 5 business days once the return reaches our warehouse.' },
  { key: 'parcel', answer: 'Use the tracking link in your confirmation email; it updates every few hours.' },
  { key: 'invoice', answer: 'Invoices are under Billing, History, each with a PDF download button.' },
  { key: 'subscription', answer: 'Go to Billing, Plan, Cancel; you keep access until the period ends.' },
];
const ASKS = ['How do I deal with my {x}?', 'Help with the {x}, please.', 'Question about a {x} today.', 'I am stuck with my {x}.', 'What should I do about the {x}?'];
const SYSTEM = 'You are a concise customer-support assistant.';
const userText = (req: FakeRequest) => String([...req.body.messages].reverse().find((m: { role: string }) => m.role === 'user')?.content ?? '');
const answerFor = (text: string) => TOPICS.find((t) => text.includes(t.key))?.answer ?? 'Let me connect you with an agent.';

/** Conversations (some multi-turn), `n` of them from `offset`, as azureml-examples JSONL. */
function conversations(n: number, offset: number): string {
  return Array.from({ length: n }, (_, i) => {
    const k = offset + i;
    const t = TOPICS[k % TOPICS.length]!;
    const ask = `${ASKS[Math.floor(k / TOPICS.length) % ASKS.length]!.replace('{x}', t.key)} (ticket ${k})`;
    const messages =
      k % 4 === 0
        ? [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'Hello there.' }, { role: 'assistant', content: 'Hi! How can I help?' }, { role: 'user', content: ask }]
        : [{ role: 'system', content: SYSTEM }, { role: 'user', content: ask }];
    return JSON.stringify({ messages });
  }).join('\n');
}

// cli/foundation-models/system/distillation/conversation/distillation_conversation.yaml, as JSON, unchanged.
const AZUREML_EXAMPLE = {
  type: 'distillation',
  name: 'Distillation-conversation-llama',
  description: 'Distill student model using a teacher model',
  experiment_name: 'Distillation-Conversation',
  data_generation_type: 'label_generation',
  data_generation_task_type: 'conversation',
  training_data: { type: 'uri_file', path: './train_conversation.jsonl' },
  validation_data: { type: 'uri_file', path: './validation_conversation.jsonl' },
  teacher_model_endpoint_connection: {
    type: 'serverless',
    name: 'Meta-Llama-3-1-405B-Instruct-vkn',
    endpoint: 'https://Meta-Llama-3-1-405B-Instruct-vkn.westus3.models.ai.azure.com/chat/completions',
    api_key: 'EXAMPLE_API_KEY',
  },
  student_model: 'azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct/versions/2',
  outputs: { registered_model: { type: 'mlflow_model', name: 'llama-conversation-distilled' } },
  teacher_model_settings: {
    inference_parameters: { temperature: 0.1, max_tokens: 100, top_p: 0.95 },
    endpoint_request_settings: { request_batch_size: 10, min_endpoint_success_ratio: 0.7 },
  },
  hyperparameters: { learning_rate_multiplier: '0.2', n_epochs: '5', batch_size: '2' },
  resources: { instance_type: 'Standard_D2_v2' },
};

const submit = submitDistillation;

const follow = (h: Harness, id: string, timeoutInMs = 120_000) => followDistillation(h, id, { timeoutInMs });

describe('Azure ML distillation (the case study: a support assistant into a serverless student)', () => {
  let h: Harness;
  let aml: FakeAzureMLServer;
  let work: BackgroundWork;
  const uploads = 'tenants/tenant-a/distillations/uploads/';

  beforeAll(async () => {
    aml = await startFakeAzureMLServer();
    const client = fakeAzureMLClient(aml);
    const trainer = new AzureMLTrainer({ client, modelRef: 'aml-serverless', pollIntervalInMs: 5 });
    const teacher = (servers: { teacher: { baseURL: string } }) => ({ provider: 'openai', baseURL: servers.teacher.baseURL, auth: 'none', maxRetries: 0, timeoutInMs: 5_000 });
    h = await startHarness({
      teacher: { answer: (req) => ({ text: answerFor(userText(req)) }) },
      models: (servers) => ({
        'Meta-Llama-3-1-405B-Instruct-vkn': { ...teacher(servers), model: 'Meta-Llama-3.1-405B-Instruct' },
        'DeepSeek-V3': { ...teacher(servers), model: 'DeepSeek-V3' },
        // Auth and time-outs of the serverless endpoints; each version brings its own URL.
        'aml-serverless': { provider: 'openai', baseURL: 'http://127.0.0.1:9/unused', auth: 'none', maxRetries: 0, timeoutInMs: 5_000 },
      }),
      tasks: [],
      compose: { trainers: { 'azure-ml': trainer } },
    });
    await h.distillery.artifacts.upsert(`${uploads}train_conversation.jsonl`, conversations(80, 0));
    await h.distillery.artifacts.upsert(`${uploads}validation_conversation.jsonl`, conversations(55, 80));
    work = h.distillery.startBackgroundWork({ worker: true, scheduler: false });
  }, 60_000);

  afterAll(async () => {
    await work?.stop();
    await h?.close();
    await aml?.close();
  });

  it('accepts an azureml-examples distillation job unchanged and ends with a served, reported student', async () => {
    const { status, body } = await submit(h, AZUREML_EXAMPLE);
    expect(status, JSON.stringify(body)).toBe(201);
    // What was not used is said, not dropped: the key, the URL, the compute.
    const said = /Azure ML fields not used: ([^"]*)/.exec(JSON.stringify(body))?.[1] ?? '';
    for (const field of ['teacher_model_endpoint_connection.api_key', 'teacher_model_endpoint_connection.endpoint', 'resources', 'name (']) expect(said).toContain(field);
    expect(JSON.stringify(body)).not.toContain('EXAMPLE_API_KEY');
    const view = await follow(h, body.id);
    expect(view.status, JSON.stringify(view.error ?? view.log)).toBe('succeeded');

    // Stage 2 ran on Azure ML with the YAML's student and string hyperparameters.
    const job = [...aml.jobs.values()][0]!;
    expect(job.body.properties.fineTuningDetails).toMatchObject({
      model: { uri: 'azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct/versions/2' },
      hyperParameters: { n_epochs: '5', batch_size: '2', learning_rate_multiplier: '0.2' },
    });
    expect(job.body.properties.outputs.registered_model.assetName).toBe('llama-conversation-distilled');
    // The teacher was asked with the YAML's inference parameters.
    // (Every stage-1 call; a preflight probe, if any, may ask for fewer tokens.)
    const stage1 = h.teacher.requests.filter((r) => r.body.max_tokens === 100 && r.body.temperature === 0.1 && r.body.top_p === 0.95);
    expect(stage1.length).toBeGreaterThanOrEqual(80 + 55);

    // The student is a remote version behind the serverless endpoint, and it served the report's test split.
    const version = await h.distillery.registry.get('Distillation-Conversation', 1);
    const endpoint = [...aml.endpoints.values()][0]!;
    expect(version).toMatchObject({ kind: 'remote', endpoint: { modelRef: 'aml-serverless', baseURL: endpoint.properties.inferenceEndpoint.uri, model: 'Meta-Llama-3.1-8B-Instruct' } });
    expect(aml.completions.length).toBeGreaterThanOrEqual(55);

    const r = view.report;
    expect(r.taskType).toBe('conversation');
    expect(r.testExamples).toBe(55);
    expect(r.mainMetric).toMatch(/^chrF/);
    // The teacher answers each topic one way and the fake student recalls the nearest training answer.
    expect(r.summary.teacher).toBeCloseTo(1, 5);
    expect(r.summary.student).toBeGreaterThan(0.9);
    expect(r.summary.teacherQualityKept).toBeGreaterThan(0.9);
    // Azure ML's cost lines: training (tokens × epochs × price) and hourly hosting of the endpoint.
    expect(r.student.cost.hostingUsdPerHour).toBe(0.74);
    expect(r.student.cost.estimatedTrainedTokens).toBeGreaterThan(0);
    expect(r.student.cost.trainingUsd).toBeCloseTo((r.student.cost.estimatedTrainedTokens / 1000) * 0.003, 10);
  }, 150_000);

  it('refuses what Azure ML (or Distillery) cannot honour with a 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...AZUREML_EXAMPLE, prompt_settings: { enable_chain_of_thought: true } }, 'prompt_settings.enable_chain_of_thought'],
      [{ ...AZUREML_EXAMPLE, data_generation_type: 'data_generation' }, 'data_generation_type'],
      [{ ...AZUREML_EXAMPLE, hyperparameters: { learning_rate: '2e-5' } }, 'hyperparameters.learning_rate'],
      [{ ...AZUREML_EXAMPLE, hyperparameters: { n_epochs: 'five' } }, 'hyperparameters.n_epochs'],
      [{ ...AZUREML_EXAMPLE, student_model: 'azureml://registries/azureml/models/gpt-4o/versions/1' }, 'student_model'],
      [{ ...AZUREML_EXAMPLE, training_data: { type: 'uri_file', path: 'azureml:support-train:1' } }, 'training_data.path'],
      [{ ...AZUREML_EXAMPLE, teacher_model_settings: { endpoint_request_settings: { request_batch_size: 500 } } }, 'teacher_model_settings.endpoint_request_settings.request_batch_size'],
      [{ ...AZUREML_EXAMPLE, compute: 'gpu-cluster' }, 'compute'],
      [{ ...AZUREML_EXAMPLE, data_generation_task_type: 'nlu_qa', prompt_settings: { enable_chain_of_density: true } }, 'prompt_settings.enable_chain_of_density'],
    ];
    for (const [spec, param] of cases) {
      const { status, body } = await submit(h, spec);
      expect(status, param).toBe(400);
      expect(body.error.param, JSON.stringify(body)).toBe(param);
    }
  });

  it("applies Azure ML's data rules and refuses hyperparameters its fine-tuning cannot apply", async () => {
    await h.distillery.artifacts.upsert(`${uploads}small.jsonl`, conversations(64, 0));
    await h.distillery.artifacts.upsert(`${uploads}roles.jsonl`, `${conversations(70, 0)}\n${JSON.stringify({ messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] })}`);
    const small = await submit(h, { ...AZUREML_EXAMPLE, training_data: { type: 'uri_file', path: 'small.jsonl' } });
    expect(small.status).toBe(400);
    expect(small.body.error).toMatchObject({ param: 'training_data', code: 'too_few_records' });
    const roles = await submit(h, { ...AZUREML_EXAMPLE, training_data: { type: 'uri_file', path: 'roles.jsonl' } });
    expect(roles.status).toBe(400);
    expect(roles.body.error).toMatchObject({ param: 'training_data', code: 'invalid_message_roles' });
    // Distillery's own shape with an Azure ML student: temperature is refused, not silently dropped.
    const own = await submit(h, {
      task: 'case-study',
      teacher: 'DeepSeek-V3',
      task_type: 'conversation',
      student: { kind: 'remote', trainer: 'azure-ml', baseModel: 'Phi-4-mini-instruct' },
      training_data: { path: `${uploads}train_conversation.jsonl` },
      hyperparameters: { num_epochs: 3, temperature: 2 },
    });
    expect(own.status).toBe(400);
    expect(own.body.error.param).toBe('hyperparameters.temperature');
  });
});

describe('the azure-ml trainer as compose builds it from the task settings', () => {
  let h: Harness;
  let aml: FakeAzureMLServer;
  let work: BackgroundWork;

  beforeAll(async () => {
    aml = await startFakeAzureMLServer();
    const token = aml.token;
    const armBase = aml.armEndpoint;
    // Production code talks to management.azure.com; the test's fetch sends those calls to the fake.
    const fetchToFake: typeof fetch = (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      return fetch(url.replace(/^https:\/\/management\.azure\.com/, armBase), init);
    };
    h = await startHarness({
      teacher: { answer: (req) => ({ text: answerFor(userText(req)) }) },
      models: (servers) => ({
        'DeepSeek-V3': { provider: 'openai', baseURL: servers.teacher.baseURL, model: 'DeepSeek-V3', auth: 'none', maxRetries: 0, timeoutInMs: 5_000 },
        'aml-serverless': { provider: 'openai', baseURL: 'http://127.0.0.1:9/unused', auth: 'none', maxRetries: 0, timeoutInMs: 5_000 },
      }),
      tasks: [
        {
          name: 'support-assistant',
          teacher: 'DeepSeek-V3',
          distill: { enabled: false, threshold: null, trainer: 'azure-ml', fineTuning: { baseModel: 'Phi-4-mini-instruct', modelRef: 'aml-serverless', pollIntervalInMs: 5, azureMl: { workspace: aml.workspaceId } } },
        },
        { name: 'no-workspace', teacher: 'DeepSeek-V3', distill: { enabled: false, threshold: null, trainer: 'azure-ml', fineTuning: { baseModel: 'Phi-4-mini-instruct' } } },
      ],
      compose: { fetch: fetchToFake, credential: { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) } },
    });
    const uploads = 'tenants/tenant-a/distillations/uploads/';
    await h.distillery.artifacts.upsert(`${uploads}train.jsonl`, conversations(80, 0));
    await h.distillery.artifacts.upsert(`${uploads}test.jsonl`, conversations(55, 80));
    work = h.distillery.startBackgroundWork({ worker: true, scheduler: false });
  }, 60_000);

  afterAll(async () => {
    await work?.stop();
    await h?.close();
    await aml?.close();
  });

  const caseStudy = (task: string) => ({
    task,
    teacher: 'DeepSeek-V3',
    task_type: 'conversation',
    student: { kind: 'remote', trainer: 'azure-ml', baseModel: 'Phi-4-mini-instruct' },
    training_data: { path: 'tenants/tenant-a/distillations/uploads/train.jsonl' },
    validation_data: { path: 'tenants/tenant-a/distillations/uploads/test.jsonl' },
    hyperparameters: { num_epochs: 3, batch_size: 2, learning_rate_multiplier: 0.2 },
  });

  it('fine-tunes Phi-4-mini in the task\'s workspace (the docs\' case study spec) and serves it', async () => {
    const { status, body } = await submit(h, caseStudy('support-assistant'));
    expect(status, JSON.stringify(body)).toBe(201);
    const view = await follow(h, body.id);
    expect(view.status, JSON.stringify(view.error ?? view.log)).toBe('succeeded');
    expect([...aml.jobs.values()][0]!.body.properties.fineTuningDetails.hyperParameters).toEqual({ n_epochs: '3', batch_size: '2', learning_rate_multiplier: '0.2' });
    expect(view.report.student.cost).toMatchObject({ hostingUsdPerHour: 0.8 });
    expect(await h.distillery.registry.get('support-assistant', 1)).toMatchObject({ kind: 'remote', endpoint: { modelRef: 'aml-serverless', model: 'Phi-4-mini-instruct' } });
  }, 150_000);

  it('refuses the job at submission when the task names no workspace, before any Azure ML call', async () => {
    const before = aml.requests.length;
    const { status, body } = await submit(h, caseStudy('no-workspace'));
    expect(status, JSON.stringify(body)).toBe(400);
    expect(body.error).toMatchObject({ param: 'student.trainer', code: 'trainer_unavailable' });
    expect(body.error.message).toMatch(/distill\.fineTuning\.azureMl\.workspace/);
    expect(aml.requests.length).toBe(before);
  });

  it('checks at submission that the workspace answers (preflight reads it with the app identity)', async () => {
    const before = aml.requests.filter((r) => r.method === 'GET' && r.path === aml.workspaceId).length;
    const { status, body } = await submit(h, { ...caseStudy('support-assistant'), student: { kind: 'remote', trainer: 'azure-ml', baseModel: 'Phi-3.5-mini-instruct' } });
    // The earlier job of the task has ended, so this one is queued after the preflight read the workspace.
    expect(status, JSON.stringify(body)).toBe(201);
    expect(aml.requests.filter((r) => r.method === 'GET' && r.path === aml.workspaceId).length).toBeGreaterThan(before);
    expect((await follow(h, body.id)).status).toBe('succeeded');
  }, 150_000);
});
