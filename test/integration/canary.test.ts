import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CanaryState } from '../../src/core/distill/canary.js';
import { clincSubset, goldLabels } from '../fixtures/clinc150.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import { teacherLabelledPair } from '../fixtures/pair-records.js';

// A promoted student ramps as a canary: it serves a share of student traffic while the teacher
// serves the rest with the student shadowed; online agreement advances the ramp, or — when the
// teacher's answers drift away from what the student learned — rolls the registry back.

const data = clincSubset(['banking']);
const gold = goldLabels();
let drifted = false;
let h: Harness;

const seed = (i: number, text: string, label: string) => teacherLabelledPair(i, { task: 'intents', tenant: 'tenant-a', text, label });

beforeAll(async () => {
  h = await startHarness({
    teacher: {
      answer: (req) => {
        const label = gold.get(String(req.body.messages.at(-1).content)) ?? data.labels[0]!;
        // After the "drift", the teacher labels everything with the next intent of the list.
        return { text: drifted ? data.labels[(data.labels.indexOf(label) + 1) % data.labels.length]! : label };
      },
    },
    tasks: [
      {
        name: 'intents',
        teacher: 'teacher',
        student: { source: 'registry' },
        classification: { labels: data.labels, student: { epochs: 6 } },
        routing: { policy: { type: 'pinned', arm: 'student' } },
        distill: {
          threshold: null,
          dataset: { minExamples: 100 },
          gate: { minAgreement: 0.8, minTestExamples: 50, nonInferiorityMargin: 0.05 },
          canary: { enabled: true, steps: [0.2, 1], minRequests: 30, minAgreement: 0.8 },
        },
      },
    ],
    compose: { studentRefreshInMs: 0 },
  });
  await h.distillery.pairStore.upsertMany([...data.train, ...data.val].map((r, i) => seed(i, r.text, r.label)));
}, 60_000);
afterAll(() => h?.close());

async function send(prompts: string[]) {
  const arms: string[] = [];
  for (let i = 0; i < prompts.length; i += 10) {
    const batch = await Promise.all(
      prompts.slice(i, i + 10).map(async (p, k) => {
        const res = await h.distillery.app.request('/v1/chat/completions', {
          method: 'POST',
          headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'intents', messages: [{ role: 'user', content: p }], user: `user-${i + k}` }),
        });
        expect(res.status).toBe(200);
        return res.headers.get('x-distillery-arm')!;
      }),
    );
    arms.push(...batch);
  }
  await h.distillery.pairWriter.flush();
  return arms;
}

async function distill() {
  const { job } = await h.distillery.triggers.request('intents', { type: 'manual' });
  return (await h.distillery.runner.run(job.id))!;
}

describe('canary ramp', () => {
  it('ramps a promoted student 20% → 100% while online agreement holds', async () => {
    const job = await distill();
    expect(job.outcome).toBe('promoted');
    expect((job.steps.canary as CanaryState).share).toBe(0.2);
    const arms = await send(data.test.slice(0, 150).map((r) => r.text));
    const studentShare = arms.filter((a) => a === 'student').length / arms.length;
    expect(studentShare).toBeGreaterThan(0.08);
    expect(studentShare).toBeLessThan(0.35);
    await h.distillery.triggers.check(undefined);
    const after = (await h.distillery.jobStore.get(job.id))!;
    expect((after.steps.canary as CanaryState).status).toBe('completed');
    expect(after.log.at(-1)!.message).toMatch(/canary of intents@1 completed: agreement 0\.\d+ over \d+ pairs/);
    const full = await send(data.test.slice(150, 200).map((r) => r.text));
    expect(full.every((a) => a === 'student')).toBe(true);
  }, 120_000);

  it('rolls back to the previous version when online agreement falls during the ramp', async () => {
    const job = await distill();
    expect(job.outcome).toBe('promoted');
    expect((await h.distillery.registry.getPromoted('intents'))?.version).toBe(2);
    drifted = true;
    await send(data.test.slice(200, 400).map((r) => r.text));
    await h.distillery.triggers.check(undefined);
    const after = (await h.distillery.jobStore.get(job.id))!;
    expect((after.steps.canary as CanaryState).status).toBe('rolled_back');
    expect(after.log.at(-1)!.message).toMatch(/rolled back intents@2: online agreement 0\.\d+ < 0\.8/);
    expect((await h.distillery.registry.getPromoted('intents'))?.version).toBe(1);
    drifted = false;
  }, 120_000);
});
