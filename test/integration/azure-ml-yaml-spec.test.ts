import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureMLTrainer } from '../../src/adapters/azure-ml/azure-ml-trainer.js';
import { EXIT } from '../../src/cli.js';
import type { BackgroundWork } from '../../src/compose/index.js';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { KEYS, startHarness, type Harness, followDistillation } from '../fixtures/distillery-harness.js';
import { startFakeAzureMLServer, type FakeAzureMLServer, fakeAzureMLClient } from '../fixtures/fake-azure-ml-server.js';
import type { FakeRequest } from '../fixtures/fake-openai-server.js';
import { runCli } from '../fixtures/run-cli.js';

// #18: `distillery distill --spec distillation_summarization.yaml` with the azureml-examples file
// unchanged (YAML, its JSONL files beside it): chain-of-density prompting in stage 1 (the teacher
// answers a JSON list of ever denser summaries), the densest summary kept for the dataset under
// the prompt without the JSON instruction, stage 2 on a fake Azure ML workspace.

// cli/foundation-models/system/distillation/summarization/distillation_summarization.yaml, unchanged.
const YAML = `type: distillation

name: "Distillation-summarization-llama"
description: "Distill student model using a teacher model"
experiment_name: "Distillation-summarization"

# Data Generation Properties
data_generation_type: label_generation
data_generation_task_type: summarization

# Input data
training_data:
  type: uri_file
  path: ./train_summarization.jsonl
validation_data:
  type: uri_file
  path: ./validation_summarization.jsonl

# Teacher model serverless endpoint information
teacher_model_endpoint_connection: 
  type: serverless
  name: Meta-Llama-3-1-405B-Instruct-vkn
  endpoint: https://Meta-Llama-3-1-405B-Instruct-vkn.westus3.models.ai.azure.com/chat/completions
  api_key: EXAMPLE_API_KEY

# Model ID
student_model: azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct/versions/2

# Output distilled model
outputs:
  registered_model:
    type: mlflow_model
    name: llama-summarization-distilled


# Teacher model related properties (OPTIONAL)
teacher_model_settings:
  inference_parameters:
    temperature: 0.8
    max_tokens: 1024
    top_p: 0.95
  endpoint_request_settings:
    request_batch_size: 10
    min_endpoint_success_ratio: 0.7

# System prompt settings (OPTIONAL)
prompt_settings:
  enable_chain_of_density: true
  max_len_summary: 80

# For finetuning (OPTIONAL)
hyperparameters:
  learning_rate_multiplier: "0.2"
  n_epochs: "5"
  batch_size: "2"

# Resource for Data Generation Step (OPTIONAL)
resources:
  instance_type: Standard_D2_v2
`;

const TOPICS = ['bridge', 'election', 'harvest', 'museum', 'storm'];
const SYSTEM = 'You will generate concise, entity-dense summary of the given article. Only generate the summary text. Do not exceed 80 words.';
const articles = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => {
    const k = offset + i;
    const topic = TOPICS[k % TOPICS.length]!;
    return JSON.stringify({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `Article: Report ${k} on the ${topic} in the town of Elm, with quotes from residents and officials.` }] });
  }).join('\n');
const userText = (req: FakeRequest) => String([...req.body.messages].reverse().find((m: { role: string }) => m.role === 'user')?.content ?? '');
const densest = (text: string) => `Elm ${TOPICS.find((t) => text.includes(t)) ?? 'news'} report: residents and officials respond.`;

const run = (url: string, args: string[]) => runCli(['--url', url, '--key', KEYS.admin, ...args]);

const follow = (h: Harness, id: string, timeoutInMs = 120_000) => followDistillation(h, id, { timeoutInMs });

describe('an azureml-examples YAML through distill --spec (chain-of-density)', () => {
  let h: Harness;
  let aml: FakeAzureMLServer;
  let work: BackgroundWork;
  let server: RunningServer;
  let dir: string;

  beforeAll(async () => {
    aml = await startFakeAzureMLServer();
    const client = fakeAzureMLClient(aml);
    const trainer = new AzureMLTrainer({ client, modelRef: 'aml-serverless', pollIntervalInMs: 5 });
    // The teacher follows the chain-of-density instruction: a JSON list, the last summary the densest.
    const answer = (req: FakeRequest) => {
      const cod = JSON.stringify(req.body.messages).includes('chain of density');
      const steps = [{ missing_entities: ['Elm'], denser_summary: 'A town report.' }, { missing_entities: ['residents', 'officials'], denser_summary: densest(userText(req)) }];
      return { text: cod ? JSON.stringify(steps) : 'plain summary' };
    };
    h = await startHarness({
      teacher: { answer },
      models: (servers) => ({
        'Meta-Llama-3-1-405B-Instruct-vkn': { provider: 'openai', baseURL: servers.teacher.baseURL, model: 'Meta-Llama-3.1-405B-Instruct', auth: 'none', maxRetries: 0, timeoutInMs: 5_000 },
        'aml-serverless': { provider: 'openai', baseURL: 'http://127.0.0.1:9/unused', auth: 'none', maxRetries: 0, timeoutInMs: 5_000 },
      }),
      tasks: [],
      compose: { trainers: { 'azure-ml': trainer } },
    });
    server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(path.join(tmpdir(), 'distillery-yaml-'));
    writeFileSync(path.join(dir, 'distillation_summarization.yaml'), YAML);
    writeFileSync(path.join(dir, 'train_summarization.jsonl'), articles(80, 0));
    writeFileSync(path.join(dir, 'validation_summarization.jsonl'), articles(30, 80));
    work = h.distillery.startBackgroundWork({ worker: true, scheduler: false });
  }, 60_000);

  afterAll(async () => {
    await work?.stop();
    await server?.close();
    await h?.close();
    await aml?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is accepted unchanged, asks for chain-of-density and keeps the densest summary', async () => {
    const r = await run(server.url, ['--json', 'distill', '--spec', path.join(dir, 'distillation_summarization.yaml')]);
    expect(r.code, r.text).toBe(EXIT.ok);
    const job = await follow(h, JSON.parse(r.text).id);
    expect(job.state, JSON.stringify(job.error ?? job.log)).toBe('succeeded');
    expect(job.spec).toMatchObject({ task_type: 'summarization', prompt_settings: { enable_chain_of_density: true, max_len_summary: 80 } });
    expect(JSON.stringify(job)).not.toContain('EXAMPLE_API_KEY');

    // Stage 1: the row's own system prompt, then the chain-of-density instruction.
    const stage1 = h.teacher.requests.filter((q) => q.body.max_tokens === 1024);
    expect(stage1.length).toBeGreaterThanOrEqual(110);
    expect(stage1[0]!.body.messages[0].content).toMatch(/^You will generate concise[\s\S]*\n\nUse chain of density: write 5 summaries[\s\S]*at most 80 words/);

    // The dataset trains on the densest summary under the data's own prompt, without the JSON instruction.
    const train = new TextDecoder().decode((await h.distillery.artifacts.get(`datasets/Distillation-summarization/${job.id}/train.jsonl`))!);
    const first = JSON.parse(train.split('\n')[0]!);
    expect(first.messages[0]).toEqual({ role: 'system', content: SYSTEM });
    expect(first.messages.at(-1)).toEqual({ role: 'assistant', content: densest(first.messages[1].content) });
    expect(train).not.toMatch(/denser_summary|chain of density/);

    // Stage 2 on Azure ML with the YAML's student and string hyperparameters.
    expect([...aml.jobs.values()][0]!.body.properties.fineTuningDetails).toMatchObject({
      model: { uri: 'azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct/versions/2' },
      hyperParameters: { n_epochs: '5', batch_size: '2', learning_rate_multiplier: '0.2' },
    });
  }, 150_000);

  it('a file that is neither JSON nor YAML is a usage error', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'type: distillation\n  training_data: [unclosed\n');
    expect((await run(server.url, ['distill', '--spec', bad])).code).toBe(EXIT.usage);
  });
});
