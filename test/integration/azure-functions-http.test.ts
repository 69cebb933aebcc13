import { HttpRequest, InvocationContext } from '@azure/functions';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { closeDistillery } from '../../src/function-app-instance.js';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { createDistillery, type Distillery } from '../../src/compose/index.js';
import { loadConfig } from '../../src/config.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';

// The exported Azure Functions handler, called with HttpRequest and InvocationContext from
// @azure/functions (test mode outside the host), gives the same responses as the standalone server.

const KEY = 'dk-functions-test';
let teacher: FakeOpenAIServer;
let dataDir: string;
let standalone: Distillery;
let server: RunningServer;
let httpApi: typeof import('../../functions/http-api.js').httpApi;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  teacher = await startFakeOpenAIServer({ model: 'gpt-4o', answer: () => ({ text: 'fixed answer', promptTokens: 7, completionTokens: 2 }) });
  dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-fn-'));
  const env = {
    DISTILLERY_CONFIG_JSON: JSON.stringify({
      models: { teacher: { baseURL: teacher.baseURL, auth: 'none', maxRetries: 0 } },
      tasks: [{ name: 'support', teacher: 'teacher' }],
    }),
    DISTILLERY_API_KEYS: JSON.stringify([{ tenant: 't1', scopes: ['chat'], sha256: hashApiKey(KEY) }]),
  };
  for (const [k, v] of Object.entries({ ...env, DISTILLERY_DATA_DIR: path.join(dataDir, 'fn') })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  ({ httpApi } = await import('../../functions/http-api.js'));
  standalone = await createDistillery(loadConfig({ ...env, DISTILLERY_DATA_DIR: path.join(dataDir, 'standalone') }));
  server = await listen(standalone.app, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await closeDistillery();
  await server.close();
  await standalone.close();
  await teacher.close();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function viaFunction(method: string, pathname: string, body?: unknown, key = KEY) {
  const req = new HttpRequest({
    method,
    url: `http://localhost:7071${pathname}`,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': 'fixed-id' },
    ...(body !== undefined ? { body: { string: typeof body === 'string' ? body : JSON.stringify(body) } } : {}),
  });
  const res = await httpApi(req, new InvocationContext({ functionName: 'http-api', invocationId: 'inv-1' }));
  const text = await new Response(res.body as ConstructorParameters<typeof Response>[0]).text();
  return { status: res.status, headers: new Headers(res.headers as Record<string, string>), text };
}

async function viaServer(method: string, pathname: string, body?: unknown, key = KEY) {
  const res = await fetch(`${server.url}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': 'fixed-id' },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

// Completion ids are the server's own per request (a client's x-request-id is only echoed).
const normalize = (text: string) => text.replace(/"created":\d+/g, '"created":0').replace(/"id":"chatcmpl-[0-9a-f]+"/g, '"id":"chatcmpl-x"');

describe('Azure Functions HTTP trigger', () => {
  const cases: [string, string, unknown?, string?][] = [
    ['GET', '/v1/models'],
    ['POST', '/v1/chat/completions', { model: 'support', messages: [{ role: 'user', content: 'hi' }] }],
    ['POST', '/v1/chat/completions', { model: 'support', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }],
    ['POST', '/v1/chat/completions', '{not json'],
    ['POST', '/v1/chat/completions', { model: 'missing', messages: [{ role: 'user', content: 'hi' }] }],
    ['GET', '/v1/models', undefined, 'wrong-key'],
  ];
  for (const [method, pathname, body, key] of cases) {
    it(`${method} ${pathname} ${body === undefined ? '' : JSON.stringify(body).slice(0, 60)} ${key ?? ''}`, async () => {
      const fn = await viaFunction(method, pathname, body, key);
      const sa = await viaServer(method, pathname, body, key);
      expect(fn.status).toBe(sa.status);
      expect(normalize(fn.text)).toBe(normalize(sa.text));
      for (const h of ['content-type', 'x-request-id', 'x-distillery-arm', 'x-distillery-model']) expect(fn.headers.get(h)).toBe(sa.headers.get(h));
    });
  }

  it('streams SSE through the Functions response body', async () => {
    const fn = await viaFunction('POST', '/v1/chat/completions', { model: 'support', messages: [{ role: 'user', content: 'hi' }], stream: true });
    expect(fn.headers.get('content-type')).toMatch(/event-stream/);
    expect(fn.text).toContain('"content":"fixe"');
    expect(fn.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});
