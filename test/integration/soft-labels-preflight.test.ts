import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import type { FakeAnswer, FakeRequest, Fault } from '../fixtures/fake-openai-server.js';

// #17 row 5 at submission: soft labels are asked for by default; the sample inference shows
// whether the teacher gives logprobs. A teacher without them (or one refusing the parameter)
// leaves the job on hard labels, recorded in the stored spec, and an explicit
// hyperparameters.temperature is then refused with 400 naming it — never silently ignored.

let h: Harness;
let mode: 'logprobs' | 'plain' | 'refuses-logprobs' = 'logprobs';
const answer = (): FakeAnswer =>
  mode === 'logprobs'
    ? { text: 'positive', logprobs: [{ token: 'positive', logprob: Math.log(0.8), top_logprobs: [{ token: 'positive', logprob: Math.log(0.8) }, { token: 'negative', logprob: Math.log(0.2) }] }] }
    : { text: 'positive' };
const fault = (req: FakeRequest): Fault | undefined =>
  mode === 'refuses-logprobs' && req.body.logprobs ? { kind: 'status', status: 400, message: 'logprobs is not supported for this model' } : undefined;

beforeAll(async () => {
  h = await startHarness({ teacher: { answer, fault }, tasks: [] });
}, 60_000);
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  mode = 'logprobs';
});

const rows = Array.from({ length: 30 }, (_, i) => JSON.stringify({ prompt: `review ${i}: fine`, label: i % 2 ? 'positive' : 'negative' })).join('\n');
const spec = (overrides: Record<string, unknown> = {}) => ({
  task: `soft-${Math.random().toString(36).slice(2, 8)}`,
  teacher: 'teacher',
  task_type: 'classification',
  labels: ['positive', 'negative'],
  training_data: rows,
  ...overrides,
});
async function submit(body: unknown) {
  const res = await h.distillery.app.request('/admin/distillations', {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('soft labels at submission', () => {
  it('asks for top logprobs without any setting, and keeps temperature when the teacher gives them', async () => {
    const before = h.teacher.requests.length;
    const { status, body } = await submit(spec({ hyperparameters: { temperature: 3 } }));
    expect(status, JSON.stringify(body)).toBe(201);
    expect(h.teacher.requests.slice(before)[0]!.body).toMatchObject({ logprobs: true, top_logprobs: 5 });
    expect(body.spec.teacher_settings.soft_labels).toBeUndefined();
    expect(body.spec.hyperparameters.temperature).toBe(3);
  });

  it('a teacher answering without logprobs: hard labels recorded in the spec', async () => {
    mode = 'plain';
    const { status, body } = await submit(spec());
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body.spec.teacher_settings.soft_labels).toBe(false);
  });

  it('a teacher answering without logprobs: an explicit temperature is refused with 400 naming it', async () => {
    mode = 'plain';
    const { status, body } = await submit(spec({ hyperparameters: { temperature: 2 } }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ param: 'hyperparameters.temperature', code: 'temperature_not_applicable' });
  });

  it('a teacher refusing the logprobs parameter is asked again without it, and the job goes on hard labels', async () => {
    mode = 'refuses-logprobs';
    const before = h.teacher.requests.length;
    const { status, body } = await submit(spec());
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body.spec.teacher_settings.soft_labels).toBe(false);
    const sent = h.teacher.requests.slice(before).map((r) => r.body.logprobs === true);
    expect(sent).toEqual([true, false]);
  });

  it('soft_labels: true with a teacher that gives no logprobs is refused (400 naming it)', async () => {
    mode = 'plain';
    const { status, body } = await submit(spec({ teacher_settings: { soft_labels: true } }));
    expect(status).toBe(400);
    expect(body.error.param).toBe('teacher_settings.soft_labels');
  });
});
