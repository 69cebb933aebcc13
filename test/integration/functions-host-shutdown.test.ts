import { HttpRequest, InvocationContext } from '@azure/functions';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilePairSpool } from '../../src/adapters/local/file-pair-spool.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { PairWriter } from '../../src/core/pairs/pair-writer.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';

// Functions host shutdown (scale-in, deployment): the appTerminate hook flushes the pair records
// of answered invocations within DISTILLERY_SHUTDOWN_TIMEOUT_MS — including pairs still being
// built when the host stops (here a slow shadow student: the record waits for its answer).

const KEY = 'dk-functions-shutdown';
const DEADLINE_MS = 5_000;
let teacher: FakeOpenAIServer;
let student: FakeOpenAIServer;
let dataDir: string;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  teacher = await startFakeOpenAIServer({ model: 'gpt-4o', answer: () => ({ text: 'teacher answer', promptTokens: 7, completionTokens: 2 }) });
  student = await startFakeOpenAIServer({ model: 'phi', answer: () => ({ text: 'student answer', promptTokens: 7, completionTokens: 2 }), fault: () => ({ kind: 'delay', ms: 400 }) });
  dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-fn-shutdown-'));
  const env = {
    DISTILLERY_CONFIG_JSON: JSON.stringify({
      models: {
        teacher: { baseURL: teacher.baseURL, auth: 'none', maxRetries: 0 },
        student: { provider: 'openai', baseURL: student.baseURL, model: 'phi', auth: 'none', maxRetries: 0 },
      },
      tasks: [{ name: 'support', teacher: 'teacher', student: { source: 'model', model: 'student' }, routing: { policy: { type: 'shadow', serve: 'teacher' } } }],
    }),
    DISTILLERY_API_KEYS: JSON.stringify([{ tenant: 't1', scopes: ['chat'], sha256: hashApiKey(KEY) }]),
    DISTILLERY_DATA_DIR: dataDir,
    DISTILLERY_SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS),
  };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});

afterAll(async () => {
  await teacher.close();
  await student.close();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Azure Functions host shutdown', () => {
  it('appTerminate flushes the pairs of every answered invocation within the deadline', async () => {
    const { httpApi, onHostTerminate } = await import('../../functions/http-api.js');
    const invoke = async (i: number) => {
      const req = new HttpRequest({
        method: 'POST',
        url: 'http://localhost:7071/v1/chat/completions',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: { string: JSON.stringify({ model: 'support', messages: [{ role: 'user', content: `question ${i}` }] }) },
      });
      const res = await httpApi(req, new InvocationContext({ functionName: 'http-api', invocationId: `inv-${i}` }));
      expect(res.status ?? 200).toBe(200);
      return new Headers(res.headers as Record<string, string>).get('x-request-id')!;
    };
    const answered = await Promise.all(Array.from({ length: 20 }, (_, i) => invoke(i)));
    // The host stops right after the last answer; the shadow answers are still on their way.
    const t0 = performance.now();
    await onHostTerminate();
    const tookMs = performance.now() - t0;
    expect(tookMs).toBeLessThan(DEADLINE_MS);

    const store = new SqlitePairStore({ path: path.join(dataDir, 'distillery.db') });
    const writer = new PairWriter({ store, spool: new FilePairSpool({ dir: path.join(dataDir, 'pair-spool') }) });
    await writer.flush();
    const stored = new Map<string, boolean>();
    for await (const p of store.list({ task: 'support' })) stored.set(p.id, p.student?.text === 'student answer');
    await store.close();
    expect(answered.filter((id) => !stored.has(id))).toEqual([]);
    expect([...stored.values()].every(Boolean)).toBe(true); // with the shadow's answer in each
  }, 60_000);
});
