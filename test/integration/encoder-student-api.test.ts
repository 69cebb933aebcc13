import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDistillery, type Distillery } from '../../src/compose/index.js';
import { loadConfig } from '../../src/config.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { clincSubset } from '../fixtures/clinc150.js';
import { teacherLabelledPair } from '../fixtures/pair-records.js';
import { wordsOf, writeTinyEncoder } from '../fixtures/tiny-encoder.js';

// The encoder student through the whole loop on embedded defaults: a task whose configuration
// names an encoder folder (the tiny one the test builds) re-distills from its pairs, the job trains
// the encoder candidate in the worker, evaluates and gates it (the encoder kind's latency budget
// applies), promotes it, and the official openai client gets its answers from the public API.
// A second task without an encoder trains the other kinds; its lineage says why the encoder was skipped.

const KEY = 'dk-test-encoder-chat';
const data = clincSubset(['banking']);
let dir: string;
let d: Distillery;
let server: RunningServer;
let client: OpenAI;

const task = (name: string, student: Record<string, unknown>) => ({
  name,
  teacher: 'teacher',
  student: { source: 'registry' },
  classification: { labels: data.labels, student: { seed: 3, epochs: 4, conv_filters: 0, ...student } },
  routing: { policy: { type: 'pinned', arm: 'student' } },
  distill: { threshold: null, dataset: { minExamples: 100 }, gate: { minAgreement: 0.6, minTestExamples: 50 } },
});

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'encoder-api-'));
  const encoder = path.join(dir, 'encoders', 'tiny');
  writeTinyEncoder(encoder, { words: wordsOf(data.train.map((r) => r.text)), dim: 48, seed: 5 });
  const config = loadConfig({
    DISTILLERY_DATA_DIR: dir,
    DISTILLERY_API_KEYS: JSON.stringify([{ tenant: 't', scopes: ['chat'], sha256: hashApiKey(KEY) }]),
    DISTILLERY_CONFIG_JSON: JSON.stringify({
      models: { teacher: { baseURL: 'http://127.0.0.1:9/v1', auth: 'none' } },
      tasks: [task('banking-encoder', { encoder: { path: encoder, pinned: true, head_epochs: 30 } }), task('banking-plain', {})],
    }),
  });
  d = await createDistillery(config);
  for (const name of ['banking-encoder', 'banking-plain']) {
    await d.pairStore.upsertMany([...data.train, ...data.val].map((r, i) => teacherLabelledPair(i, { task: name, text: r.text, label: r.label, idPrefix: name })));
  }
  server = await listen(d.app, { host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 30_000 });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await d?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('encoder student through the API', () => {
  it('a job with the encoder configured trains and promotes it; chats are answered by it', async () => {
    const { job } = await d.triggers.request('banking-encoder', { type: 'manual' });
    const done = (await d.runner.run(job.id))!;
    expect(done.error).toBeUndefined();
    expect(done.state).toBe('succeeded');
    expect(done.steps.gate).toMatchObject({ promote: true });
    // The encoder kind's latency budget was applied to it, and the job report shows the kind's figures.
    expect(done.steps.gate!.reasons.join('\n')).toMatch(/p95 latency [\d.]+ ms ≤ 50 ms \(encoder student budget\)/);
    expect(done.steps.evaluation).toMatchObject({ gate: { studentKind: 'encoder', maxP95LatencyInMs: 50 } });
    expect(done.steps.evaluation!.candidates).toEqual([expect.objectContaining({ kind: 'encoder', chosen: true, p50InMs: expect.any(Number), p99InMs: expect.any(Number), sizeInBytes: expect.any(Number), maxP95LatencyInMs: 50 })]);
    const version = (await d.registry.getPromoted('banking-encoder'))!;
    const candidates = (version.lineage.hyperparameters as { candidates: unknown[] }).candidates;
    expect(candidates).toEqual([expect.objectContaining({ kind: 'encoder', chosen: true, p50InMs: expect.any(Number), p99InMs: expect.any(Number), sizeInBytes: expect.any(Number) })]);
    expect(version.metrics).toMatchObject({ candidateP50InMs: expect.any(Number), modelSizeInBytes: expect.any(Number) });

    let agree = 0;
    for (const row of data.test.slice(0, 20)) {
      const { data: answer, response } = await client.chat.completions.create({ model: 'banking-encoder', messages: [{ role: 'user', content: row.text }] }).withResponse();
      expect(response.headers.get('x-distillery-arm')).toBe('student');
      expect(response.headers.get('x-distillery-model')).toBe(version.id);
      const label = answer.choices[0]!.message.content!;
      expect(data.labels).toContain(label);
      if (label === row.label) agree++;
    }
    expect(agree).toBeGreaterThan(10);
    // Streaming too.
    const stream = await client.chat.completions.create({ model: 'banking-encoder', stream: true, messages: [{ role: 'user', content: data.test[0]!.text }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(data.labels).toContain(text);
  }, 240_000);

  it('a task without an encoder: the kind is skipped and the lineage says why', async () => {
    const { job } = await d.triggers.request('banking-plain', { type: 'manual' });
    const done = (await d.runner.run(job.id))!;
    expect(done.state).toBe('succeeded');
    expect(done.steps.gate).toEqual({ promote: true, reasons: expect.any(Array) });
    const version = (await d.registry.getPromoted('banking-plain'))!;
    const candidates = (version.lineage.hyperparameters as { candidates: { kind: string }[] }).candidates;
    expect(candidates.map((c) => c.kind)).toEqual(['ngrams', 'encoder']);
    expect(candidates[1]).toMatchObject({ chosen: false, skipped: 'not_configured', reason: expect.stringContaining('no encoder configured') });
    // Gated by the n-gram kind's default budget, named in the reason.
    expect(done.steps.evaluation).toMatchObject({ gate: { studentKind: 'ngrams', latencyBudgetFrom: 'kind-default' } });
    expect(done.steps.gate!.reasons.join('\n')).toMatch(/ms \(ngrams student budget\) \[default for ngrams/);
  }, 240_000);
});
