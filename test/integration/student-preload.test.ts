import { HttpRequest, InvocationContext } from '@azure/functions';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeStudentArtifacts } from '../../src/adapters/onnx/student-artifacts.js';
import { initStudentWeights, parseHyperparameters } from '../../src/adapters/onnx/train-student.js';
import { createDistillery, type Distillery } from '../../src/compose/index.js';
import { loadConfig } from '../../src/config.js';
import { createRandom } from '../../src/core/eval/random.js';
import { closeDistillery, getDistillery } from '../../src/function-app-instance.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { runServe } from '../../src/serve-command.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';

// Issue 21: an instance starts loading each task's promoted in-process student as soon as it is
// built, without holding up the first request, so the first student-served request does not pay
// for the load. Shown without timing: once the preload has logged, the student's files are deleted,
// and the first request is still answered by the student (it can only have been loaded before).
// A preload that fails is logged and serving goes on.

const KEY = 'dk-preload-test';
const LABELS = ['refund', 'shipping', 'other'];
let teacher: FakeOpenAIServer;
const dirs: string[] = [];

const envFor = (dataDir: string) => ({
  DISTILLERY_DATA_DIR: dataDir,
  DISTILLERY_CONFIG_JSON: JSON.stringify({
    models: { teacher: { baseURL: teacher.baseURL, auth: 'none', maxRetries: 0 } },
    tasks: [
      { name: 'intents', teacher: 'teacher', student: { source: 'registry' }, classification: { labels: LABELS }, routing: { policy: { type: 'pinned', arm: 'student' } }, distill: { threshold: null } },
      { name: 'chat', teacher: 'teacher' },
    ],
  }),
  DISTILLERY_API_KEYS: JSON.stringify([{ tenant: 't1', scopes: ['chat'], sha256: hashApiKey(KEY) }]),
});

const weights = () => initStudentWeights(LABELS, parseHyperparameters({ buckets: 256, embedding_dim: 8, seed: 3 }), createRandom(3));

/** A data folder whose registry holds a promoted ONNX student of 'intents' (version 1). */
async function seededDataDir(): Promise<string> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-preload-'));
  dirs.push(dataDir);
  const d = await createDistillery(loadConfig(envFor(dataDir)));
  try {
    await writeStudentArtifacts(d.artifacts, 'models/intents/1', weights(), { task: 'intents', lineage: {}, metrics: {} });
    const v = await d.registry.create({ task: 'intents', kind: 'onnx', artifactPath: 'models/intents/1', lineage: { jobId: 'job-1' }, metrics: {} });
    await d.registry.promote('intents', v.version);
  } finally {
    await d.close();
  }
  return dataDir;
}

const chat = (model: string) =>
  new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/v1/chat/completions',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: { string: JSON.stringify({ model, messages: [{ role: 'user', content: 'where is my parcel' }] }) },
  });

beforeAll(async () => {
  teacher = await startFakeOpenAIServer({ model: 'gpt-4o', answer: () => ({ text: 'other', promptTokens: 5, completionTokens: 1 }) });
});

afterAll(async () => {
  await teacher.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('student preload at instance start (issue 21)', () => {
  const saved: Record<string, string | undefined> = {};
  afterAll(async () => {
    await closeDistillery();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    vi.restoreAllMocks();
  });

  it('the Functions instance loads the promoted student before the first student request', async () => {
    const dataDir = await seededDataDir();
    for (const [k, v] of Object.entries(envFor(dataDir))) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    const lines: string[] = [];
    const preloaded = new Promise<void>((resolve) => {
      vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
        lines.push(String(line));
        if (/student intents@1 of task 'intents' preloaded in \d+ ms/.test(String(line))) resolve();
      });
    });
    await getDistillery();
    await preloaded;
    expect(lines.join('\n')).not.toMatch(/failed/);

    // Only a student already in memory can answer now.
    rmSync(path.join(dataDir, 'artifacts', 'models', 'intents'), { recursive: true, force: true });
    const { httpApi } = await import('../../functions/http-api.js');
    const res = await httpApi(chat('intents'), new InvocationContext({ functionName: 'http-api', invocationId: 'first' }));
    const body = JSON.parse(await new Response(res.body as ConstructorParameters<typeof Response>[0]).text()) as { choices: { message: { content: string } }[] };
    const headers = new Headers(res.headers as Record<string, string>);
    expect(res.status).toBe(200);
    expect(headers.get('x-distillery-arm')).toBe('student');
    expect(headers.get('x-distillery-model')).toBe('intents@1');
    expect(LABELS).toContain(body.choices[0]!.message.content);
    expect(teacher.requests).toHaveLength(0);
  });
});

describe('student preload in the standalone server', () => {
  it('loads the promoted student before the first student request', async () => {
    const dataDir = await seededDataDir();
    let preloaded!: () => void;
    const ready = new Promise<void>((resolve) => (preloaded = resolve));
    const lines: string[] = [];
    const print = (line: string) => {
      lines.push(line);
      if (/student intents@1 of task 'intents' preloaded in \d+ ms/.test(line)) preloaded();
    };
    const platform = await runServe({ env: { ...envFor(dataDir), DISTILLERY_WORKER: 'false' }, port: 0, host: '127.0.0.1', embedded: true, quiet: true, print });
    try {
      await ready;
      rmSync(path.join(dataDir, 'artifacts', 'models', 'intents'), { recursive: true, force: true });
      const res = await fetch(`${platform.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'intents', messages: [{ role: 'user', content: 'refund please' }] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-distillery-arm')).toBe('student');
      expect(lines.join('\n')).not.toMatch(/preload of task .* failed/);
    } finally {
      await platform.close({ deadlineInMs: 5_000 });
    }
  });
});

describe('a failing student preload', () => {
  let d: Distillery;
  afterAll(async () => d?.close());

  it('is logged, and serving goes on', async () => {
    const dataDir = await seededDataDir();
    // Corrupt model bytes: the sidecar checksum no longer matches, so loading the student throws.
    writeFileSync(path.join(dataDir, 'artifacts', 'models', 'intents', '1', 'model.onnx'), 'not an onnx graph');
    d = await createDistillery(loadConfig(envFor(dataDir)));
    const lines: string[] = [];
    await d.preloadStudents({ log: (line) => lines.push(line) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^student preload of task 'intents' failed \(.*checksum.*\); its first student request loads it$/);

    const ask = (model: string) =>
      d.app.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
      });
    const plain = await ask('chat');
    expect(plain.status).toBe(200);
    expect(plain.headers.get('x-distillery-arm')).toBe('teacher');
    // The student task answers as it would without a preload: its request tries the load itself
    // and reports the broken artifact; once the artifact is repaired, the next request loads it.
    const broken = await ask('intents');
    expect(broken.status).toBe(500);
    expect(await broken.json()).toMatchObject({ error: { type: 'server_error', code: 'artifact_corrupt' } });
    await writeStudentArtifacts(d.artifacts, 'models/intents/1', weights(), { task: 'intents', lineage: {}, metrics: {} });
    const repaired = await ask('intents');
    expect(repaired.status).toBe(200);
    expect(repaired.headers.get('x-distillery-arm')).toBe('student');
  });
});
