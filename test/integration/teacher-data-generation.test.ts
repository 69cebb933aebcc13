import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackgroundWork } from '../../src/compose/index.js';
import { parseDistillationSpec } from '../../src/core/distill/distillation-spec.js';
import { DistilleryError } from '../../src/core/errors.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import type { FakeRequest } from '../fixtures/fake-openai-server.js';

// #17 row 4: teacher-generated data. Labels with few training rows get new user messages written
// by the teacher from a few seeds (count and prompt configurable); the new rows are labelled by
// the teacher in stage 1 like any row, deduplicated, and decontaminated against the test split
// before training. The fake teacher paraphrases its seeds, repeats one of them (a duplicate) and
// leaks a test row (which must never reach training).

const userText = (req: FakeRequest) => String([...req.body.messages].reverse().find((m: { role: string }) => m.role === 'user')?.content ?? '');
const KEYWORDS: Record<string, string> = { rain: 'weather', sunny: 'weather', forecast: 'weather', song: 'music', flight: 'travel', hotel: 'travel', trip: 'travel' };
const LEAKED = 'will it rain in paris on friday';
const generationPrompts: string[] = [];

function paraphrase(prompt: string): string {
  generationPrompts.push(prompt);
  const seeds = prompt.split('\n').filter((l) => l.startsWith('- ')).map((l) => l.slice(2));
  const lines = seeds.flatMap((s, i) => [`${i + 1}. please ${s}`, `"${s} right now"`, `- could you tell me: ${s}`]);
  lines.push(seeds[0]!); // a duplicate of a training row
  if (/rain|sunny|forecast/.test(prompt)) lines.push(LEAKED); // a copy of a test row
  return lines.join('\n');
}

function answer(req: FakeRequest) {
  const text = userText(req);
  if (text.startsWith('Generate ')) return { text: paraphrase(text) };
  const label = Object.entries(KEYWORDS).find(([k]) => text.toLowerCase().includes(k))?.[1] ?? 'music';
  return { text: label };
}

let h: Harness;
let work: BackgroundWork;
beforeAll(async () => {
  h = await startHarness({ teacher: { answer }, tasks: [] });
  work = h.distillery.startBackgroundWork({ worker: true, scheduler: false });
}, 60_000);
afterAll(async () => {
  await work?.stop();
  await h?.close();
});

const row = (prompt: string, label: string) => JSON.stringify({ prompt, label });
const train = [
  row('is it going to rain today', 'weather'),
  row('what is the forecast for tomorrow', 'weather'),
  row('will it be sunny this weekend', 'weather'),
  row('book a flight to rome', 'travel'),
  row('find me a hotel in berlin', 'travel'),
  // Enough rows in all for a job (a dataset needs 100 usable examples).
  ...Array.from({ length: 90 }, (_, i) => row(`play song number ${i}`, 'music')),
];
const test = [row(LEAKED, 'weather'), row('play my favourite song', 'music'), row('plan a trip to oslo', 'travel')];

async function follow(id: string) {
  for (;;) {
    const res = await h.distillery.app.request(`/admin/distillations/${id}`, { headers: { authorization: `Bearer ${KEYS.admin}` } });
    const view = (await res.json()) as any;
    if (view.status === 'succeeded' || view.status === 'failed') return view;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('teacher-generated data', () => {
  it('writes rows for sparse labels from their seeds, dedupes, decontaminates against the test split, and trains on them', async () => {
    const spec = {
      task: 'gen-intents',
      teacher: 'teacher',
      task_type: 'classification',
      labels: ['weather', 'music', 'travel'],
      training_data: train.join('\n'),
      validation_data: test.join('\n'),
      hyperparameters: { num_epochs: 3 },
      data_generation: { min_examples_per_label: 10, count_per_label: 12, seeds_per_label: 2, prompt: 'Generate {count} user messages labelled {label}, like:\n{examples}' },
      gate: { minTestExamples: 1 },
    };
    const res = await h.distillery.app.request('/admin/distillations', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    const body = (await res.json()) as any;
    expect(res.status, JSON.stringify(body)).toBe(201);
    const view = await follow(body.id);
    expect(view.status, JSON.stringify(view.log)).toBe('succeeded');

    // Only the sparse labels were asked for, with the configured prompt, count and number of seeds.
    expect(generationPrompts).toHaveLength(2);
    expect(generationPrompts[0]).toBe('Generate 12 user messages labelled weather, like:\n- is it going to rain today\n- what is the forecast for tomorrow');
    expect(generationPrompts[1]).toMatch(/^Generate 12 user messages labelled travel/);

    const report = JSON.parse(new TextDecoder().decode((await h.distillery.artifacts.get(`distillations/${body.id}/generated.json`))!));
    // weather: 2 seeds × 3 paraphrases + the duplicate + the leaked test row; travel: 2 × 3 + the duplicate.
    expect(report).toEqual({ labels: ['weather', 'travel'], requested: 24, generated: 12, duplicates: 2, contaminated: 1, failedCalls: 0 });

    const examples = new TextDecoder()
      .decode((await h.distillery.artifacts.get(`datasets/gen-intents/${body.id}/examples.jsonl`))!)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { messages: { role: string; content: string }[]; label?: string; split: string });
    const texts = examples.map((e) => e.messages.at(-1)!.content);
    // Generated rows were labelled by the teacher in stage 1 and joined training.
    const generated = examples.filter((e) => /^(please |could you tell me: )|right now$/.test(e.messages.at(-1)!.content));
    expect(generated).toHaveLength(12);
    expect(generated.every((e) => e.split !== 'test' && (e.label === 'weather' || e.label === 'travel'))).toBe(true);
    // The leaked test row is in the test split only, once.
    expect(texts.filter((t) => t === LEAKED)).toHaveLength(1);
    expect(examples.find((e) => e.messages.at(-1)!.content === LEAKED)!.split).toBe('test');
  }, 180_000);

  it('refuses data_generation for tasks without labels (400 naming it)', () => {
    try {
      parseDistillationSpec({ teacher: 't', task_type: 'qa', student: { kind: 'remote', baseModel: 'x' }, training_data: '{"question":"q"}', data_generation: {} });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DistilleryError);
      expect((err as DistilleryError).param).toBe('data_generation');
    }
  });
});
