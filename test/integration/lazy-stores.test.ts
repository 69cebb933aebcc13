import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDistillery } from '../../src/compose/index.js';
import { lazyInstance } from '../../src/compose/lazy-instance.js';
import { loadConfig } from '../../src/config.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';

// Issue 19: what the chat path does not use is not opened at start. On embedded defaults the job
// queue is a SQLite file of its own: serving chat requests never creates it, the first job does.

const KEY = 'dk-lazy-stores';
let teacher: FakeOpenAIServer;
const dirs: string[] = [];

beforeAll(async () => {
  teacher = await startFakeOpenAIServer({ model: 'gpt-4o', answer: () => ({ text: 'fine', promptTokens: 3, completionTokens: 1 }) });
});
afterAll(async () => {
  await teacher.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('stores the chat path does not use', () => {
  it('the job queue is opened by its first use, not by start-up or chat requests', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-lazy-'));
    dirs.push(dataDir);
    const d = await createDistillery(
      loadConfig({
        DISTILLERY_DATA_DIR: dataDir,
        DISTILLERY_CONFIG_JSON: JSON.stringify({ models: { teacher: { baseURL: teacher.baseURL, auth: 'none', maxRetries: 0 } }, tasks: [{ name: 'chat', teacher: 'teacher' }] }),
        DISTILLERY_API_KEYS: JSON.stringify([{ tenant: 't1', scopes: ['chat'], sha256: hashApiKey(KEY) }]),
      }),
    );
    const queueFile = path.join(dataDir, 'queue.db');
    try {
      const res = await d.app.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      expect(existsSync(queueFile)).toBe(false);
      await d.jobQueue.send({ messageId: 'job-1', body: { jobId: 'job-1', task: 'chat', kind: 'redistill' } });
      expect(existsSync(queueFile)).toBe(true);
    } finally {
      await d.close();
    }
  });
});

describe('lazyInstance', () => {
  class Counter {
    static built = 0;
    #n = 0;
    constructor() {
      Counter.built++;
    }
    add(): number {
      return ++this.#n;
    }
    async close(): Promise<string> {
      return 'closed';
    }
  }

  it('builds on first use, once, with private fields working; idle members and await do not build it', async () => {
    Counter.built = 0;
    const c = lazyInstance(() => new Counter(), { close: async () => 'never opened' });
    expect(await Promise.resolve(c)).toBe(c);
    expect(await c.close()).toBe('never opened');
    expect(Counter.built).toBe(0);
    expect(c.add()).toBe(1);
    expect(c.add()).toBe(2);
    expect(Counter.built).toBe(1);
    expect(await c.close()).toBe('closed');
  });
});
