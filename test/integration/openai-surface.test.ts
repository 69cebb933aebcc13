import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { startDemoTeacherServer, type DemoTeacherServer } from '../../src/adapters/onnx/demo-teacher.js';
import { OnnxStudentModel } from '../../src/adapters/onnx/onnx-student-model.js';
import { writeStudentArtifacts } from '../../src/adapters/onnx/student-artifacts.js';
import { initStudentWeights, parseHyperparameters } from '../../src/adapters/onnx/train-student.js';
import { createDistillery, type Distillery } from '../../src/compose/index.js';
import { loadConfig } from '../../src/config.js';
import { createRandom } from '../../src/core/eval/random.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { allPairs } from '../fixtures/distillery-harness.js';
import { startMultiChoiceServer, type MultiChoiceServer } from '../fixtures/multi-choice-openai-server.js';

// Issue 20, the OpenAI surface, through the official openai client against the standalone server:
// an in-process ONNX classifier student (from the registry), the demo teacher (a local
// OpenAI-compatible server) as its teacher, and a generative remote model that honours `n`.

const LABELS = ['refund', 'shipping', 'other'];
const CHAT = 'dk-surface-chat';
const ADMIN = 'dk-surface-admin';
const dirs: string[] = [];
let teacher: DemoTeacherServer;
let gen: MultiChoiceServer;
let distillery: Distillery;
let server: RunningServer;
let client: OpenAI;
/** Admin key: may force an arm with x-distillery-force-arm. */
let admin: OpenAI;

const weights = (seed: number) => {
  const w = initStudentWeights(LABELS, parseHyperparameters({ buckets: 256, embedding_dim: 8, seed }), createRandom(seed));
  // Spread the logits so the label distribution is far from uniform (a trained student's shape).
  const rnd = createRandom(seed + 1);
  for (const arr of [w.embedding, w.outputWeight, w.outputBias]) for (let i = 0; i < arr.length; i++) arr[i] = (rnd() - 0.5) * 4;
  return w;
};

beforeAll(async () => {
  const teacherDir = mkdtempSync(path.join(tmpdir(), 'distillery-surface-teacher-'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-surface-'));
  dirs.push(teacherDir, dataDir);
  const teacherStore = new FsArtifactStore({ root: teacherDir });
  // The teacher is the same network as the student: both arms answer alike, so their usage compares.
  await writeStudentArtifacts(teacherStore, 'demo-teacher', weights(3), { task: 'intents', lineage: {}, metrics: {} });
  const teacherModel = (await OnnxStudentModel.fromArtifacts(teacherStore, { id: 'demo-teacher', artifactPath: 'demo-teacher' }))!;
  teacher = await startDemoTeacherServer({ model: teacherModel, latencyInMs: { min: 0, max: 0 } });
  gen = await startMultiChoiceServer();
  const config = loadConfig({
    DISTILLERY_DATA_DIR: dataDir,
    DISTILLERY_CONFIG_JSON: JSON.stringify({
      models: {
        teacher: { baseURL: teacher.baseURL, model: 'demo-teacher', auth: 'none', maxRetries: 0 },
        gen: { baseURL: gen.baseURL, model: 'gen-model', auth: 'none', maxRetries: 0 },
      },
      tasks: [
        { name: 'intents', teacher: 'teacher', student: { source: 'registry' }, classification: { labels: LABELS }, routing: { policy: { type: 'pinned', arm: 'student' } }, distill: { threshold: null } },
        { name: 'chat', teacher: 'gen' },
        { name: 'chat-shadow', teacher: 'gen', student: { source: 'model', model: 'gen' }, routing: { policy: { type: 'shadow', serve: 'teacher', rate: 1 } } },
      ],
    }),
    DISTILLERY_API_KEYS: JSON.stringify([
      { tenant: 't1', scopes: ['chat'], sha256: hashApiKey(CHAT) },
      { tenant: 't1', scopes: ['admin'], sha256: hashApiKey(ADMIN) },
    ]),
  });
  distillery = await createDistillery(config);
  await writeStudentArtifacts(distillery.artifacts, 'models/intents/1', weights(3), { task: 'intents', lineage: {}, metrics: {} });
  const v = await distillery.registry.create({ task: 'intents', kind: 'onnx', artifactPath: 'models/intents/1', lineage: { jobId: 'job-1' }, metrics: {} });
  await distillery.registry.promote('intents', v.version);
  server = await listen(distillery.app, { host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: CHAT, maxRetries: 0 });
  admin = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: ADMIN, maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await distillery?.close();
  await teacher?.close();
  await gen?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ask = (content: string) => [{ role: 'user' as const, content }];
const forced = (arm: 'teacher' | 'student') => ({ headers: { 'x-distillery-force-arm': arm } });
type Logprobs = OpenAI.ChatCompletion.Choice['logprobs'];

/** The single logprobs entry of a classifier's answer, checked for shape. */
function labelLogprob(logprobs: Logprobs, content: string) {
  expect(logprobs?.content).toHaveLength(1);
  const entry = logprobs!.content![0]!;
  expect(entry.token).toBe(content);
  expect(entry.logprob).toBeLessThanOrEqual(0);
  return entry;
}

describe('logprobs of the classifier student (its label distribution)', () => {
  it('non-streaming: the answer with its log-probability, top_logprobs the top-k labels, most likely first', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'intents', messages: ask('where is my parcel'), logprobs: true, top_logprobs: 3 })
      .withResponse();
    expect(response.headers.get('x-distillery-arm')).toBe('student');
    const choice = data.choices[0]!;
    expect(LABELS).toContain(choice.message.content);
    const entry = labelLogprob(choice.logprobs, choice.message.content!);
    expect(entry.top_logprobs.map((t) => t.token).sort()).toEqual([...LABELS].sort());
    expect(entry.top_logprobs[0]).toMatchObject({ token: entry.token, logprob: entry.logprob });
    const lps = entry.top_logprobs.map((t) => t.logprob);
    expect([...lps].sort((a, b) => b - a)).toEqual(lps);
    // All three labels: the probabilities are the whole softmax.
    expect(lps.reduce((s, l) => s + Math.exp(l), 0)).toBeCloseTo(1, 4);
    expect(entry.bytes).toEqual(Array.from(Buffer.from(entry.token)));

    const two = await client.chat.completions.create({ model: 'intents', messages: ask('where is my parcel'), logprobs: true, top_logprobs: 2 });
    expect(two.choices[0]!.logprobs!.content![0]!.top_logprobs).toEqual(entry.top_logprobs.slice(0, 2));
    const none = await client.chat.completions.create({ model: 'intents', messages: ask('where is my parcel'), logprobs: true });
    expect(none.choices[0]!.logprobs!.content![0]!.top_logprobs).toEqual([]);
    const unasked = await client.chat.completions.create({ model: 'intents', messages: ask('where is my parcel') });
    expect(unasked.choices[0]!.logprobs).toBeNull();
  });

  it('streaming: the same logprobs arrive in the chunks', async () => {
    const plain = await client.chat.completions.create({ model: 'intents', messages: ask('I want my money back'), logprobs: true, top_logprobs: 2 });
    const stream = await client.chat.completions.create({ model: 'intents', messages: ask('I want my money back'), logprobs: true, top_logprobs: 2, stream: true });
    let text = '';
    const content: OpenAI.ChatCompletionTokenLogprob[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      content.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    }
    expect(text).toBe(plain.choices[0]!.message.content);
    expect(content).toEqual(plain.choices[0]!.logprobs!.content);
  });
});

describe('logprobs of the demo teacher', () => {
  it('streams logprobs, directly and through Distillery (teacher arm)', async () => {
    const direct = new OpenAI({ baseURL: teacher.baseURL, apiKey: 'none', maxRetries: 0 });
    const collect = async (c: OpenAI, model: string, options?: { headers: Record<string, string> }) => {
      const stream = await c.chat.completions.create({ model, messages: ask('my card was charged twice'), logprobs: true, top_logprobs: 2, stream: true }, options);
      const content: OpenAI.ChatCompletionTokenLogprob[] = [];
      let text = '';
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        content.push(...(chunk.choices[0]?.logprobs?.content ?? []));
      }
      return { text, content };
    };
    const plain = await direct.chat.completions.create({ model: 'demo-teacher', messages: ask('my card was charged twice'), logprobs: true, top_logprobs: 2 });
    const streamed = await collect(direct, 'demo-teacher');
    expect(streamed.text).toBe(plain.choices[0]!.message.content);
    expect(streamed.content).toEqual(plain.choices[0]!.logprobs!.content);
    expect(streamed.content[0]!.top_logprobs).toHaveLength(2);

    const through = await collect(admin, 'intents', forced('teacher'));
    expect(through.text).toBe(streamed.text);
    expect(through.content.map((c) => [c.token, c.logprob])).toEqual(streamed.content.map((c) => [c.token, c.logprob]));
  });
});

describe('n > 1', () => {
  it('passes n to a generative arm and answers n choices, plain and streamed', async () => {
    const { data } = await client.chat.completions.create({ model: 'chat', messages: ask('hello'), n: 3, logprobs: true }).withResponse();
    expect(data.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([
      [0, 'choice 0: hello', 'stop'],
      [1, 'choice 1: hello', 'stop'],
      [2, 'choice 2: hello', 'stop'],
    ]);
    expect(data.choices[2]!.logprobs!.content![0]!.token).toBe('choice 2: hello');
    expect(data.usage).toMatchObject({ completion_tokens: 12 });
    expect(gen.requests.at(-1)).toMatchObject({ n: 3 });

    const stream = await client.chat.completions.create({ model: 'chat', messages: ask('hi'), n: 2, stream: true, stream_options: { include_usage: true } });
    const texts: string[] = [];
    const finishes: (string | null)[] = [];
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        texts[c.index] = (texts[c.index] ?? '') + (c.delta.content ?? '');
        if (c.finish_reason) finishes[c.index] = c.finish_reason;
      }
    }
    expect(texts).toEqual(['choice 0: hi', 'choice 1: hi']);
    expect(finishes).toEqual(['stop', 'stop']);
  });

  it("asks a shadow for one choice and keeps choice 0 in the pair", async () => {
    const before = gen.requests.length;
    const { data, response } = await client.chat.completions.create({ model: 'chat-shadow', messages: ask('shadowed'), n: 2 }).withResponse();
    expect(data.choices).toHaveLength(2);
    await expect.poll(async () => (await allPairs(distillery, 'chat-shadow')).find((p) => p.id === response.headers.get('x-request-id'))?.student, { timeout: 10_000 }).toBeTruthy();
    const ns = gen.requests.slice(before).map((r) => r.n).sort();
    expect(ns).toEqual([1, 2]);
    const pair = (await allPairs(distillery, 'chat-shadow')).find((p) => p.id === response.headers.get('x-request-id'))!;
    expect(pair.teacher?.text).toBe('choice 0: shadowed');
  });

  it('is refused with a 400 naming n on a task whose student is a classifier, whichever arm would answer', async () => {
    await expect(client.chat.completions.create({ model: 'intents', messages: ask('x'), n: 2 })).rejects.toMatchObject({ status: 400, param: 'n', code: 'unsupported_parameter' });
    await expect(admin.chat.completions.create({ model: 'intents', messages: ask('x'), n: 2 }, forced('teacher'))).rejects.toMatchObject({ status: 400, param: 'n' });
  });
});

describe('options a classifier cannot answer as an LLM would: honoured or refused, never ignored', () => {
  const label = async (content: string) => (await client.chat.completions.create({ model: 'intents', messages: ask(content) })).choices[0]!.message.content!;

  it('response_format json_object and a one-field json_schema answer the label as JSON', async () => {
    const plain = await label('where is my parcel');
    const json = await client.chat.completions.create({ model: 'intents', messages: ask('where is my parcel'), response_format: { type: 'json_object' } });
    expect(JSON.parse(json.choices[0]!.message.content!)).toEqual({ label: plain });
    expect(json.choices[0]!.finish_reason).toBe('stop');
    const schema = { type: 'object', properties: { intent: { type: 'string', enum: LABELS } }, required: ['intent'], additionalProperties: false };
    const s = await client.chat.completions.create({ model: 'intents', messages: ask('where is my parcel'), response_format: { type: 'json_schema', json_schema: { name: 'intent', schema, strict: true } } });
    expect(JSON.parse(s.choices[0]!.message.content!)).toEqual({ intent: plain });
  });

  it('a json_schema a label cannot fill is a 400 naming response_format', async () => {
    const schema = { type: 'object', properties: { intent: { type: 'string' }, reason: { type: 'string' } }, required: ['intent', 'reason'] };
    await expect(
      client.chat.completions.create({ model: 'intents', messages: ask('x'), response_format: { type: 'json_schema', json_schema: { name: 'two', schema } } }),
    ).rejects.toMatchObject({ status: 400, param: 'response_format' });
  });

  const classify: OpenAI.ChatCompletionTool = { type: 'function', function: { name: 'route_ticket', parameters: { type: 'object', properties: { intent: { type: 'string' } }, required: ['intent'] } } };
  const other: OpenAI.ChatCompletionTool = { type: 'function', function: { name: 'escalate', parameters: { type: 'object', properties: {} } } };

  it('tool_choice required or a named function: a tool call carrying the label, finish_reason tool_calls', async () => {
    const plain = await label('I want my money back');
    const required = await client.chat.completions.create({ model: 'intents', messages: ask('I want my money back'), tools: [classify], tool_choice: 'required' });
    const choice = required.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ type: 'function', id: expect.stringMatching(/^call_/), function: { name: 'route_ticket' } });
    expect(JSON.parse(call.function.arguments)).toEqual({ intent: plain });

    const named = await client.chat.completions.create({ model: 'intents', messages: ask('I want my money back'), tools: [other, classify], tool_choice: { type: 'function', function: { name: 'route_ticket' } } });
    expect(named.choices[0]!.finish_reason).toBe('tool_calls');
    expect((named.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.name).toBe('route_ticket');

    // auto leaves the choice to the model: a classifier answers in text.
    const auto = await client.chat.completions.create({ model: 'intents', messages: ask('I want my money back'), tools: [classify], tool_choice: 'auto' });
    expect(auto.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: plain } });
  });

  it('streams the forced tool call as tool_call deltas', async () => {
    const stream = await client.chat.completions.create({ model: 'intents', messages: ask('I want my money back'), tools: [classify], tool_choice: 'required', stream: true });
    let args = '';
    let name = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const t of chunk.choices[0]?.delta.tool_calls ?? []) {
        args += t.function?.arguments ?? '';
        name += t.function?.name ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('route_ticket');
    expect(JSON.parse(args)).toEqual({ intent: await label('I want my money back') });
    expect(finish).toBe('tool_calls');
  });

  it('tool_choice a classifier cannot follow is a 400 naming it', async () => {
    await expect(client.chat.completions.create({ model: 'intents', messages: ask('x'), tools: [classify, other], tool_choice: 'required' })).rejects.toMatchObject({ status: 400, param: 'tool_choice' });
    await expect(client.chat.completions.create({ model: 'intents', messages: ask('x'), tools: [classify], tool_choice: { type: 'function', function: { name: 'nope' } } })).rejects.toMatchObject({ status: 400, param: 'tool_choice' });
  });

  it('stop and max_tokens cut the answer as an LLM would (finish_reason length when cut by max_tokens)', async () => {
    const plain = await label('where is my parcel');
    const cut = await client.chat.completions.create({ model: 'intents', messages: ask('where is my parcel'), stop: [plain.slice(2, 4)] });
    expect(cut.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: plain.slice(0, 2) } });
    const short = await client.chat.completions.create({ model: 'intents', messages: ask('where is my parcel'), response_format: { type: 'json_object' }, max_tokens: 2 });
    expect(short.choices[0]!.finish_reason).toBe('length');
    expect(`{"label":"${plain}"}`.startsWith(short.choices[0]!.message.content!)).toBe(true);
    expect(short.choices[0]!.message.content!.length).toBeLessThan(`{"label":"${plain}"}`.length);
    expect(short.usage!.completion_tokens).toBe(2);
    const roomy = await client.chat.completions.create({ model: 'intents', messages: ask('where is my parcel'), max_completion_tokens: 50 });
    expect(roomy.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: plain } });
  });

  it('logit_bias is a 400 naming it', async () => {
    await expect(client.chat.completions.create({ model: 'intents', messages: ask('x'), logit_bias: { '123': 5 } })).rejects.toMatchObject({ status: 400, param: 'logit_bias' });
  });
});

describe('usage counted the same way on both arms', () => {
  it('the same request costs the same tokens from the student and from the teacher, plain and streamed', async () => {
    const messages = [
      { role: 'system' as const, content: 'Classify the customer message into one intent.' },
      { role: 'assistant' as const, content: 'How can I help?', name: 'agent' },
      { role: 'user' as const, content: [{ type: 'text' as const, text: 'I want my money back' }, { type: 'text' as const, text: 'for the broken toaster, please' }] },
    ];
    const usageOf = async (arm: 'teacher' | 'student') => {
      const { data, response } = await admin.chat.completions.create({ model: 'intents', messages }, forced(arm)).withResponse();
      expect(response.headers.get('x-distillery-arm')).toBe(arm);
      let streamed: OpenAI.CompletionUsage | null | undefined;
      const stream = await admin.chat.completions.create({ model: 'intents', messages, stream: true, stream_options: { include_usage: true } }, forced(arm));
      for await (const chunk of stream) streamed = chunk.usage ?? streamed;
      expect(streamed).toEqual(data.usage);
      return { usage: data.usage!, content: data.choices[0]!.message.content };
    };
    const student = await usageOf('student');
    const teacher = await usageOf('teacher');
    expect(student.content).toBe(teacher.content);
    expect(student.usage).toEqual(teacher.usage);
    expect(student.usage.prompt_tokens).toBeGreaterThan(20);
  });
});
