import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackgroundWork } from '../../src/compose/index.js';
import { DEFAULT_PRICING, priceCall } from '../../src/core/eval/pricing.js';
import { clincSubset, goldLabels } from '../fixtures/clinc150.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import type { FakeRequest } from '../fixtures/fake-openai-server.js';

// Stage 1 counts what it gets right (#15 row 5, row 6 pricing) and datasets are reproducible
// (row 8), through the public API on embedded defaults:
// - an answer cut at max_tokens (finish_reason "length") is a failure with cause `truncated`,
//   unless the spec accepts truncation;
// - stage-1 teacher calls are priced as the configured model's `priceAs`, not the upstream's name;
// - the same spec answered in another order gives the same dataset hash and the same student bytes.

const data = clincSubset(['banking']);
const gold = goldLabels();
const rows = data.train.slice(0, 400);
const userText = (req: FakeRequest) => String([...req.body.messages].reverse().find((m: { role: string }) => m.role === 'user')?.content ?? '');
// Every tenth row is answered past max_tokens: the upstream cuts it.
const cut = new Set(rows.filter((_, i) => i % 10 === 3).map((r) => r.text));
const USAGE = { promptTokens: 40, completionTokens: 3 };

let h: Harness;
let work: BackgroundWork;
beforeAll(async () => {
  h = await startHarness({
    teacher: {
      // The upstream reports a priced model of its own; the configuration says to price it as gpt-4o-mini.
      model: 'DeepSeek-V3',
      answer: (req) => ({ text: gold.get(userText(req)) ?? 'unknown', ...USAGE, ...(cut.has(userText(req)) ? { finishReason: 'length' } : {}) }),
      // Random latency: answers arrive in a different order every run.
      fault: () => ({ kind: 'delay', ms: Math.floor(Math.random() * 6) }),
    },
    teacherSettings: { priceAs: 'gpt-4o-mini', circuitBreaker: { failureThreshold: 1000, cooldownInMs: 0 } },
    tasks: [],
  });
  work = h.distillery.startBackgroundWork({ worker: true, scheduler: false });
}, 60_000);
afterAll(async () => {
  await work?.stop();
  await h?.close();
});

const spec = (extra: Record<string, unknown> = {}) => ({
  task: 'repro',
  teacher: 'teacher',
  task_type: 'classification',
  labels: data.labels,
  student: { kind: 'onnx-classifier' },
  training_data: rows.map((r) => JSON.stringify({ prompt: r.text, label: r.label })).join('\n'),
  hyperparameters: { num_epochs: 4 },
  chunk_size: 100,
  concurrency: 8,
  gate: { minAgreement: 0.1, minTestExamples: 10, maxP95LatencyInMs: 1_000 },
  ...extra,
});

async function run(body: unknown) {
  const res = await h.distillery.app.request('/admin/distillations', {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const created = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(created)).toBe(201);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const view = (await (await h.distillery.app.request(`/admin/distillations/${created.id}`, { headers: { authorization: `Bearer ${KEYS.admin}` } })).json()) as any;
    if (view.status === 'succeeded' || view.status === 'failed') return view;
    if (Date.now() > deadline) throw new Error(`job ${created.id} did not finish: ${JSON.stringify(view.log)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function studentBytes(jobId: string): Promise<{ hash: string; onnx: Uint8Array }> {
  const job = (await h.distillery.jobStore.get(jobId))!;
  const version = await h.distillery.registry.get('repro', (job.steps.training as { version: number }).version);
  return { hash: (job.steps.dataset as { contentHash: string }).contentHash, onnx: (await h.distillery.artifacts.get(`${version!.artifactPath}/model.onnx`))! };
}

describe('stage-1 accounting and reproducible datasets', () => {
  let first: any;
  it('counts answers cut at max_tokens as failures with cause `truncated`, and prices the calls as priceAs', async () => {
    first = await run(spec());
    expect(first.status, JSON.stringify(first.error ?? first.log)).toBe('succeeded');
    expect(first.stage1).toMatchObject({ examples: rows.length, ok: rows.length - cut.size, failed: cut.size, errors: { truncated: cut.size } });
    expect(first.stage1.successRatio).toBeCloseTo(1 - cut.size / rows.length, 6);
    const perCall = priceCall(DEFAULT_PRICING, { modelId: 'gpt-4o-mini', hosting: 'remote', usage: USAGE, latencyInMs: 1 });
    expect(first.stage1.costUsd).toBeCloseTo(perCall * rows.length, 9);
  }, 180_000);

  it('the same spec answered in another order gives the same dataset hash and the same student bytes', async () => {
    const second = await run(spec());
    expect(second.status, JSON.stringify(second.error ?? second.log)).toBe('succeeded');
    const [a, b] = await Promise.all([studentBytes(first.id), studentBytes(second.id)]);
    expect(b.hash).toBe(a.hash);
    expect(a.onnx.length).toBeGreaterThan(1000);
    expect(Buffer.from(b.onnx).equals(Buffer.from(a.onnx))).toBe(true);
  }, 180_000);

  it('keeps cut answers when the spec accepts truncation', async () => {
    const view = await run(spec({ teacher_settings: { accept_truncated: true } }));
    expect(view.status, JSON.stringify(view.error ?? view.log)).toBe('succeeded');
    expect(view.stage1).toMatchObject({ ok: rows.length, failed: 0 });
    const dataset = (await h.distillery.jobStore.get(view.id))!.steps.dataset as { kept: number };
    expect(dataset.kept).toBe(rows.length);
  }, 180_000);
});
