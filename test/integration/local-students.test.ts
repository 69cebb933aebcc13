import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';
import { runCli } from '../fixtures/run-cli.js';

// #18 part 3: local generative students. An OpenAI-compatible runtime on loopback (the stand-in
// for Foundry Local, Ollama, llama.cpp server or vLLM) registered with `distillery models register`
// serves the task's chats; a built dataset exported in the formats their fine-tuning tools read.

const OPERATOR = 'dk-test-local-operator';
const TENANT_ADMIN = 'dk-test-local-tenant-admin';
let h: Harness;
let server: RunningServer;
let runtime: FakeOpenAIServer;
/** A runtime that checks its key and knows one model, as Ollama or vLLM with --api-key does. */
let strict: FakeOpenAIServer;
let closedURL: string;
let dir: string;

const run = (args: string[], key = OPERATOR) => runCli(['--url', server.url, '--key', key, ...args]);

const examples = [
  { id: 'e1', promptHash: 'h1', split: 'train', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'Refund?' }], target: 'Within 5 days.', createdAt: '2025-01-01T00:00:00.000Z' },
  { id: 'e2', promptHash: 'h2', split: 'validation', messages: [{ role: 'user', content: 'Where is my parcel?' }], target: 'Use the tracking link.', createdAt: '2025-01-01T00:00:00.000Z' },
  { id: 'e3', promptHash: 'h3', split: 'test', messages: [{ role: 'user', content: 'Invoice?' }], target: 'Billing, History.', createdAt: '2025-01-01T00:00:00.000Z' },
];

beforeAll(async () => {
  runtime = await startFakeOpenAIServer({ model: 'phi4-mini-support', answer: () => ({ text: 'local runtime answer' }) });
  strict = await startFakeOpenAIServer({
    model: 'phi4-mini-support',
    fault: (req) =>
      req.headers.authorization !== 'Bearer sk-local-runtime'
        ? { kind: 'status', status: 401, message: 'invalid api key' }
        : req.body.model !== 'phi4-mini-support'
          ? { kind: 'status', status: 404, message: `model "${req.body.model}" not found, try pulling it first` }
          : undefined,
  });
  // A loopback port nobody listens on: taken, then released.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedURL = `http://127.0.0.1:${(probe.address() as { port: number }).port}/v1`;
  await new Promise((resolve) => probe.close(resolve));
  h = await startHarness({
    tasks: [
      { name: 'support', teacher: 'teacher', student: { source: 'registry' }, routing: { policy: { type: 'pinned', arm: 'student' } }, distill: { threshold: null } },
      { name: 'intents', teacher: 'teacher', classification: { labels: ['greeting', 'balance'] }, distill: { threshold: null } },
    ],
    env: {
      DISTILLERY_API_KEYS: JSON.stringify([
        { tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(OPERATOR) },
        { tenant: 'tenant-a', scopes: ['admin'], sha256: hashApiKey(TENANT_ADMIN) },
        { tenant: 'tenant-a', scopes: ['chat'], sha256: hashApiKey(KEYS.chatA) },
      ]),
      DISTILLERY_STUDENT_KEY_LOCAL: 'sk-local-runtime',
      DISTILLERY_STUDENT_KEY_WRONG: 'sk-not-the-runtimes',
    },
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
  dir = mkdtempSync(path.join(tmpdir(), 'distillery-local-'));
  const at = new Date().toISOString();
  await h.distillery.jobStore.create({ id: 'support.1', task: 'support', kind: 'redistill', state: 'succeeded', trigger: { type: 'manual' }, progress: 1, createdAt: at, updatedAt: at, steps: {}, log: [] });
  await h.distillery.artifacts.upsert('datasets/support/support.1/examples.jsonl', `${examples.map((e) => JSON.stringify(e)).join('\n')}\n`);
  await h.distillery.artifacts.upsert('datasets/support/support.1/manifest.json', '{}');
  // A label task's dataset: examples and manifest, never a train.jsonl.
  await h.distillery.jobStore.create({ id: 'intents.1', task: 'intents', kind: 'redistill', state: 'succeeded', trigger: { type: 'manual' }, progress: 1, createdAt: at, updatedAt: at, steps: {}, log: [] });
  await h.distillery.artifacts.upsert('datasets/intents/intents.1/examples.jsonl', `${JSON.stringify({ ...examples[2], target: 'greeting', label: 'greeting' })}\n`);
  await h.distillery.artifacts.upsert('datasets/intents/intents.1/manifest.json', '{}');
}, 60_000);

afterAll(async () => {
  await server?.close();
  await h?.close();
  await runtime?.close();
  await strict?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('local generative students (#18)', () => {
  it('models register puts a local runtime behind the task: a chat routed to the student is answered by it', async () => {
    const r = await run(['--json', 'models', 'register', '--task', 'support', '--endpoint', runtime.baseURL, '--model', 'phi4-mini-support', '--api-key-env', 'DISTILLERY_STUDENT_KEY_LOCAL', '--promote']);
    expect(r.code, r.text).toBe(EXIT.ok);
    expect(JSON.parse(r.text)).toMatchObject({ task: 'support', version: 1, kind: 'remote', state: 'promoted', endpoint: { baseURL: runtime.baseURL, model: 'phi4-mini-support', apiKeySetting: 'DISTILLERY_STUDENT_KEY_LOCAL' } });

    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEYS.chatA, maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'support', messages: [{ role: 'user', content: 'Refund?' }] }).withResponse();
    expect(data.choices[0]!.message.content).toBe('local runtime answer');
    expect(response.headers.get('x-distillery-arm')).toBe('student');
    const seen = runtime.requests.at(-1)!;
    expect(seen.body.model).toBe('phi4-mini-support');
    // The key comes from the server's own setting; it never travelled through the API.
    expect(seen.headers.authorization).toBe('Bearer sk-local-runtime');
    expect(h.teacher.requests.length).toBe(0);
  });

  it('refuses a tenant admin key, another app setting as the key, and a URL carrying credentials (400/403 naming the field)', async () => {
    const tenant = await run(['models', 'register', '--task', 'support', '--endpoint', runtime.baseURL, '--model', 'm'], TENANT_ADMIN);
    expect(tenant.code).toBe(EXIT.api);
    expect(tenant.text).toMatch(/HTTP 403/);
    const post = (body: unknown) =>
      fetch(`${server.url}/admin/tasks/support/models`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const [body, param] of [
      [{ baseURL: runtime.baseURL, model: 'm', apiKeySetting: 'CosmosDb__accountKey' }, 'apiKeySetting'],
      [{ baseURL: 'http://user:secret@127.0.0.1:1/v1', model: 'm' }, 'baseURL'],
      [{ baseURL: 'file:///etc/passwd', model: 'm' }, 'baseURL'],
      [{ baseURL: runtime.baseURL }, 'model'],
    ] as const) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
    expect((await post({ baseURL: runtime.baseURL, model: 'm' }).then((r) => r.status))).toBe(201);
    const missing = await fetch(`${server.url}/admin/tasks/nope/models`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify({ baseURL: runtime.baseURL, model: 'm' }) });
    expect(missing.status).toBe(404);
  });

  it('dataset export --format writes OpenAI chat, Azure ML chat and messages JSONL of a split', async () => {
    const file = path.join(dir, 'train.jsonl');
    const r = await run(['dataset', 'export', 'support.1', '--format', 'openai', '-o', file]);
    expect(r.code, r.text).toBe(EXIT.ok);
    expect(readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([
      { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!', weight: 0 }, { role: 'user', content: 'Refund?' }, { role: 'assistant', content: 'Within 5 days.' }] },
    ]);
    const azure = await run(['dataset', 'export', 'support.1', '--format', 'azure-ml', '--split', 'validation']);
    expect(JSON.parse(azure.text)).toEqual({ messages: [{ role: 'user', content: 'Where is my parcel?' }, { role: 'assistant', content: 'Use the tracking link.' }] });
    const all = await run(['dataset', 'export', 'support.1', '--format', 'messages', '--split', 'all']);
    expect(all.text.trimEnd().split('\n')).toHaveLength(3);
    // The route itself: a split file with ?format=, an unknown format named.
    const res = await fetch(`${server.url}/admin/jobs/support.1/dataset/test.jsonl?format=messages`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(res.headers.get('content-type')).toMatch(/application\/jsonl/);
    expect(JSON.parse(await res.text())).toEqual({ messages: [{ role: 'user', content: 'Invoice?' }, { role: 'assistant', content: 'Billing, History.' }] });
    const bad = await fetch(`${server.url}/admin/jobs/support.1/dataset/train.jsonl?format=alpaca`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('format');
    expect((await run(['dataset', 'export', 'support.1', '--format', 'openai', '--file', 'train.jsonl'])).code).toBe(EXIT.usage);
  });

  it('a missing train.jsonl names the files the dataset has instead of "(yet)"', async () => {
    const r = await run(['dataset', 'export', 'intents.1', '--file', 'train.jsonl']);
    expect(r.code).toBe(EXIT.api);
    expect(r.text).toMatch(/has no train\.jsonl; its dataset has manifest\.json, examples\.jsonl/);
    expect(r.text).toMatch(/--format/);
    expect(r.text).not.toMatch(/\(yet\)/);
    // A label task's dataset still exports as fine-tuning JSONL.
    const exported = await run(['dataset', 'export', 'intents.1', '--format', 'openai', '--split', 'test']);
    expect(JSON.parse(exported.text).messages.at(-1)).toEqual({ role: 'assistant', content: 'greeting' });
  });
});

describe('models register probes the endpoint before writing anything (#18)', () => {
  const versions = async () => ((await (await fetch(`${server.url}/admin/tasks/support/models`, { headers: { authorization: `Bearer ${OPERATOR}` } })).json()) as { data: unknown[] }).data.length;
  const post = (body: unknown) =>
    fetch(`${server.url}/admin/tasks/support/models`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const refusal = async (res: Response) => ({ status: res.status, ...((await res.json()) as { error: { param: string; code: string; message: string; type: string } }).error });
  const base = ['models', 'register', '--task', 'support'];

  it('refuses an unreachable endpoint, an unknown model, a refused key and a missing key setting with a 422 naming the field', async () => {
    const before = await versions();
    const unreachable = await refusal(await post({ baseURL: closedURL, model: 'phi4-mini-support' }));
    expect(unreachable).toMatchObject({ status: 422, type: 'invalid_request_error', param: 'baseURL', code: 'endpoint_unreachable' });
    expect(unreachable.message).toMatch(/unreachable.*ECONNREFUSED.*--no-probe/);

    const unknown = await refusal(await post({ baseURL: strict.baseURL, model: 'phi4-mini-typo', apiKeySetting: 'DISTILLERY_STUDENT_KEY_LOCAL' }));
    expect(unknown).toMatchObject({ status: 422, param: 'model', code: 'model_not_found' });
    // What the runtime does serve, from its GET /models.
    expect(unknown.message).toMatch(/does not serve 'phi4-mini-typo'.*it lists phi4-mini-support/);

    const badKey = await refusal(await post({ baseURL: strict.baseURL, model: 'phi4-mini-support', apiKeySetting: 'DISTILLERY_STUDENT_KEY_WRONG' }));
    expect(badKey).toMatchObject({ status: 422, param: 'apiKeySetting', code: 'endpoint_unauthorized' });
    expect(badKey.message).toMatch(/refused the key in DISTILLERY_STUDENT_KEY_WRONG.*401/);
    expect(strict.requests.at(-1)!.headers.authorization).toBe('Bearer sk-not-the-runtimes');
    // No key setting at all, and the runtime wants one.
    expect(await refusal(await post({ baseURL: strict.baseURL, model: 'phi4-mini-support' }))).toMatchObject({ status: 422, param: 'apiKeySetting', code: 'endpoint_unauthorized' });

    const calls = strict.requests.length;
    const missing = await refusal(await post({ baseURL: strict.baseURL, model: 'phi4-mini-support', apiKeySetting: 'DISTILLERY_STUDENT_KEY_NOPE' }));
    expect(missing).toMatchObject({ status: 422, param: 'apiKeySetting', code: 'key_setting_missing' });
    expect(missing.message).toMatch(/DISTILLERY_STUDENT_KEY_NOPE is not set/);
    // Not even probed: the literal key 'unset' is never sent.
    expect(strict.requests.length).toBe(calls);
    expect(strict.requests.some((r) => r.headers.authorization === 'Bearer unset')).toBe(false);
    // Nothing was written by any refusal.
    expect(await versions()).toBe(before);
  });

  it('the CLI shows the refusal (exit 3) and registers a runtime that answers: GET /models then one short chat', async () => {
    const bad = await run([...base, '--endpoint', strict.baseURL, '--model', 'nope', '--api-key-env', 'DISTILLERY_STUDENT_KEY_LOCAL']);
    expect(bad.code).toBe(EXIT.api);
    expect(bad.text).toMatch(/HTTP 422: .*model: .*does not serve 'nope'/);
    const missing = await run([...base, '--endpoint', strict.baseURL, '--model', 'phi4-mini-support', '--api-key-env', 'DISTILLERY_STUDENT_KEY_UNSET']);
    expect(missing.text).toMatch(/HTTP 422: .*DISTILLERY_STUDENT_KEY_UNSET is not set/);

    const from = strict.requests.length;
    const ok = await run(['--json', ...base, '--endpoint', strict.baseURL, '--model', 'phi4-mini-support', '--api-key-env', 'DISTILLERY_STUDENT_KEY_LOCAL']);
    expect(ok.code, ok.text).toBe(EXIT.ok);
    expect(JSON.parse(ok.text)).toMatchObject({ kind: 'remote', state: 'candidate', endpoint: { baseURL: strict.baseURL, model: 'phi4-mini-support' } });
    const probes = strict.requests.slice(from);
    expect(probes.map((r) => r.url)).toEqual(['/v1/models', '/v1/chat/completions']);
    expect(probes[1]!.body).toMatchObject({ model: 'phi4-mini-support', max_tokens: 1 });
  });

  it('--no-probe registers a runtime that is not up yet (the key setting is still checked)', async () => {
    const r = await run(['--json', ...base, '--endpoint', closedURL, '--model', 'phi4-mini-support', '--no-probe']);
    expect(r.code, r.text).toBe(EXIT.ok);
    expect(JSON.parse(r.text)).toMatchObject({ kind: 'remote', endpoint: { baseURL: closedURL }, lineage: { hyperparameters: { probed: false } } });
    const res = await post({ baseURL: closedURL, model: 'm', apiKeySetting: 'DISTILLERY_STUDENT_KEY_NOPE', probe: false });
    expect(await refusal(res)).toMatchObject({ status: 422, param: 'apiKeySetting', code: 'key_setting_missing' });
  });

  it('a runtime without GET /models (404) is probed by its chat alone', async () => {
    const seen: string[] = [];
    const bare = createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      if (req.method === 'GET') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 0, model: 'llama', choices: [{ index: 0, message: { role: 'assistant', content: 'OK' }, finish_reason: 'length' }] }));
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    try {
      const res = await post({ baseURL: `http://127.0.0.1:${(bare.address() as { port: number }).port}/v1`, model: 'llama' });
      expect(res.status, await res.clone().text()).toBe(201);
      expect(seen).toEqual(['GET /v1/models', 'POST /v1/chat/completions']);
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
  });
});
