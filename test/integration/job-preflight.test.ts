import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import type { Fault } from '../fixtures/fake-openai-server.js';

// #15 row 4: a distillation job spec is checked before any paid stage-1 call — the teacher id
// exists and answers a sample inference, the student target is usable (a remote student needs a
// configured, reachable fine-tuning resource) — and refused with 400 naming the field. A
// re-distillation whose student target is unusable becomes a clear failed job when triggered.

let h: Harness;
let teacherFault: () => Fault | undefined = () => undefined;
beforeAll(async () => {
  h = await startHarness({
    teacher: { answer: () => ({ text: 'positive' }), fault: () => teacherFault() },
    models: {
      // A fine-tuning resource nobody listens on.
      'ft-down': { provider: 'azure-openai', baseURL: 'http://127.0.0.1:9/openai/v1', deployment: 'gpt-4o-mini', auth: 'none', maxRetries: 0, timeoutInMs: 2_000 },
    },
    tasks: [
      { name: 'remote-no-ref', teacher: 'teacher', student: { source: 'registry' }, distill: { threshold: null, trainer: 'azure-openai' } },
    ],
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  teacherFault = () => undefined;
});

const rows = Array.from({ length: 30 }, (_, i) => JSON.stringify({ prompt: `review ${i}: fine`, label: i % 2 ? 'positive' : 'negative' })).join('\n');
const spec = (overrides: Record<string, unknown>) => ({
  task: `pre-${Math.random().toString(36).slice(2, 8)}`,
  teacher: 'teacher',
  task_type: 'classification',
  labels: ['positive', 'negative'],
  student: { kind: 'onnx-classifier' },
  training_data: rows,
  ...overrides,
});
async function submit(body: unknown) {
  const res = await h.distillery.app.request('/admin/distillations', {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: { param: string; code: string; message: string } } };
}
const jobCount = async () => {
  let n = 0;
  for await (const _ of h.distillery.jobStore.list()) n++;
  return n;
};

describe('preflight of a dataset distillation spec', () => {
  it('refuses an unknown teacher id with 400 naming `teacher`, before any call', async () => {
    const before = { jobs: await jobCount(), calls: h.teacher.requests.length };
    const { status, body } = await submit(spec({ teacher: 'no-such-model' }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ param: 'teacher', code: 'teacher_not_found' });
    expect(body.error!.message).toMatch(/no-such-model/);
    expect(await jobCount()).toBe(before.jobs);
    expect(h.teacher.requests.length).toBe(before.calls);
  });

  it('refuses a teacher that fails its sample inference, with the upstream cause in the message', async () => {
    teacherFault = () => ({ kind: 'status', status: 500, message: 'model overloaded' });
    const jobs = await jobCount();
    const { status, body } = await submit(spec({}));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ param: 'teacher', code: 'teacher_unavailable' });
    expect(body.error!.message).toMatch(/500|overloaded/);
    expect(await jobCount()).toBe(jobs);
  });

  it('refuses a remote student without modelRef (student.modelRef) before paying for stage 1', async () => {
    const calls = h.teacher.requests.length;
    const { status, body } = await submit(spec({ task_type: 'qa', labels: undefined, student: { kind: 'remote', baseModel: 'gpt-4o-mini-2024-07-18' } }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ param: 'student.modelRef', code: 'trainer_unavailable' });
    expect(h.teacher.requests.length).toBe(calls);
  });

  it('refuses a remote student whose fine-tuning resource is unreachable', async () => {
    const { status, body } = await submit(spec({ task_type: 'qa', labels: undefined, student: { kind: 'remote', baseModel: 'gpt-4o-mini-2024-07-18', modelRef: 'ft-down' } }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ param: 'student.modelRef', code: 'student_target_unavailable' });
    expect(body.error!.message).toMatch(/ft-down/);
  });

  it('accepts a spec whose teacher answers and whose student is trainable here', async () => {
    const { status, body } = await submit(spec({}));
    expect(status, JSON.stringify(body)).toBe(201);
  });
});

describe('preflight of a re-distillation at trigger time', () => {
  it('a trigger for a task whose student target is unusable makes a failed job with the reason; automatic triggers do not pile up', async () => {
    const manual = await h.distillery.triggers.request('remote-no-ref', { type: 'manual' });
    expect(manual.created).toBe(true);
    expect(manual.job).toMatchObject({ state: 'failed', error: { code: 'preflight_trainer_unavailable' } });
    expect(manual.job.error!.message).toMatch(/modelRef/);
    expect(manual.job.finishedAt).toBeDefined();
    const auto = await h.distillery.triggers.request('remote-no-ref', { type: 'threshold', detail: 'test' });
    expect(auto).toMatchObject({ created: false, job: { id: manual.job.id } });
    // Nothing was queued for the failed job: the task is not blocked.
    const again = await h.distillery.triggers.request('remote-no-ref', { type: 'manual' });
    expect(again.created).toBe(true);
    expect(again.job.state).toBe('failed');
  });
});
