import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDistillery, type Distillery } from '../../src/compose/index.js';
import { loadConfig } from '../../src/config.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';

// A teacher set the way the Bicep template sets it — DISTILLERY_TEACHER_ENDPOINT / _DEPLOYMENT /
// _API_KEY — goes through the AzureOpenAI client: deployment path, api-version, api-key header.

const KEY = 'dk-azure-teacher';
let fake: FakeOpenAIServer;
let d: Distillery;
let dir: string;

beforeAll(async () => {
  fake = await startFakeOpenAIServer({ model: 'gpt-4o-2024-08-06', answer: () => ({ text: 'from azure', promptTokens: 9, completionTokens: 2 }) });
  dir = mkdtempSync(path.join(tmpdir(), 'distillery-aoai-'));
  const endpoint = fake.baseURL.replace(/\/v1$/, '/');
  d = await createDistillery(
    loadConfig({
      DISTILLERY_DATA_DIR: dir,
      DISTILLERY_CONFIG_JSON: JSON.stringify({ models: {}, tasks: [{ name: 'support', teacher: 'teacher' }] }),
      DISTILLERY_TEACHER_ENDPOINT: endpoint,
      DISTILLERY_TEACHER_DEPLOYMENT: 'gpt-4o',
      DISTILLERY_TEACHER_API_VERSION: '2024-10-21',
      DISTILLERY_TEACHER_API_KEY: 'azure-key-123',
      DISTILLERY_API_KEYS: JSON.stringify([{ tenant: 't', scopes: ['chat'], sha256: hashApiKey(KEY) }]),
    }),
  );
});
afterAll(async () => {
  await d.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Azure OpenAI teacher from app settings', () => {
  it('calls the deployment with api-version and api-key, and prices it as gpt-4o', async () => {
    const res = await d.app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'support', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('from azure');
    const req = fake.requests.at(-1)!;
    expect(req.url).toBe('/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21');
    expect(req.headers['api-key']).toBe('azure-key-123');
    await d.pairWriter.flush();
    const pairs = [];
    for await (const p of d.pairStore.list({ task: 'support' })) pairs.push(p);
    // gpt-4o list price: 9 × $2.5/M + 2 × $10/M
    expect(pairs[0]!.teacher!.costUsd).toBeCloseTo((9 * 2.5 + 2 * 10) / 1e6, 12);
  });
});
