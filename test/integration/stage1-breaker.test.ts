import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BackgroundWork } from '../../src/compose/index.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import type { FakeRequest } from '../fixtures/fake-openai-server.js';

// #15 row 6: stage 1 of a dataset job has its own breaker policy. With 40% of the examples failing
// (500s), the serving circuit breaker no longer turns the failures into `circuit_open` (they keep
// their real cause) nor fails the healthy examples fast; and a job stops calling the teacher once
// its success floor can no longer be reached.

const userText = (req: FakeRequest) => String([...req.body.messages].reverse().find((m: { role: string }) => m.role === 'user')?.content ?? '');
const rows = Array.from({ length: 300 }, (_, i) => ({ prompt: `review number ${i}`, label: i % 2 ? 'positive' : 'negative' }));
let failing: (i: number) => boolean = () => false;

let h: Harness;
let work: BackgroundWork;
beforeAll(async () => {
  h = await startHarness({
    teacher: {
      answer: (req) => ({ text: Number(userText(req).split(' ').at(-1)) % 2 ? 'positive' : 'negative' }),
      fault: (req) => (failing(Number(userText(req).split(' ').at(-1))) ? { kind: 'status', status: 500, message: 'teacher overloaded' } : undefined),
    },
    // The teacher keeps the serving defaults (its circuit breaker included).
    tasks: [],
  });
  work = h.distillery.startBackgroundWork({ worker: true, scheduler: false });
}, 60_000);
afterAll(async () => {
  await work?.stop();
  await h?.close();
});

async function run(task: string, extra: Record<string, unknown>) {
  const res = await h.distillery.app.request('/admin/distillations', {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      task,
      teacher: 'teacher',
      task_type: 'classification',
      labels: ['positive', 'negative'],
      student: { kind: 'onnx-classifier' },
      training_data: rows.map((r) => JSON.stringify(r)).join('\n'),
      chunk_size: 50,
      concurrency: 4,
      retry: { max_attempts: 2, base_delay_ms: 5, max_delay_ms: 50 },
      gate: { minAgreement: 0.1, minTestExamples: 5, maxP95LatencyInMs: 1_000 },
      ...extra,
    }),
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

it('with 40% of the examples failing, every healthy example is answered and failures keep their upstream cause', async () => {
  failing = (i) => i % 5 < 2;
  const view = await run('breaker-40', { min_success_ratio: 0.5 });
  expect(view.status, JSON.stringify(view.error ?? view.log)).toBe('succeeded');
  expect(view.stage1).toMatchObject({ examples: 300, ok: 180, failed: 120 });
  expect(view.stage1.errors.circuit_open).toBeUndefined();
  expect(Object.values(view.stage1.errors as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(120);
}, 180_000);

it('stops calling the teacher once the success floor cannot be reached, and says why', async () => {
  // The preflight's sample rows answer; nearly everything else fails.
  failing = (i) => i >= 3;
  const before = h.teacher.requests.length;
  const view = await run('breaker-floor', { min_success_ratio: 0.7 });
  expect(view.status).toBe('failed');
  expect(view.error.code).toBe('teacher_success_ratio_too_low');
  expect(view.stage1.errors.floor_unreachable).toBeGreaterThan(0);
  expect(view.stage1.errors.circuit_open).toBeUndefined();
  // Without the early stop every example would be tried max_attempts times (600 calls).
  expect(h.teacher.requests.length - before).toBeLessThan(300 * 2 * 0.75);
}, 180_000);
