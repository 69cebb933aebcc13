import { describe, expect, it } from 'vitest';
import { buildDataset, promptKey, splitOf, toChatFineTuningJsonl } from '../../src/core/distill/dataset-builder.js';
import { distillSettingsSchema } from '../../src/core/distill/distill-settings.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import { createLabelParser, parseClassificationTask } from '../../src/core/tasks/classification-task.js';
import { hash53 } from '../../src/core/hash.js';

const settings = distillSettingsSchema.parse({}).dataset;
let n = 0;
function pair(prompt: string, teacher: Partial<NonNullable<PairRecord['teacher']>> | undefined, extra: Partial<PairRecord> = {}): PairRecord {
  n++;
  return {
    id: `p${n}`,
    task: 't',
    tenant: 'a',
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    request: { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: prompt }], params: {} },
    servedArm: 'teacher',
    reason: 'x',
    policy: 'pinned',
    ...(teacher ? { teacher: { model: 'm', latencyInMs: 1, role: 'served', finishReason: 'stop', ...teacher } } : {}),
    source: { kind: 'traffic' },
    ...extra,
  };
}
async function* iter(pairs: PairRecord[]) {
  yield* pairs;
}

describe('dataset builder', () => {
  it('drops errors, refusals, empty, over-long and duplicate answers, counting each', async () => {
    const pairs = [
      pair('What is 2+2?', { text: 'Four.' }),
      pair('what is   2+2?', { text: 'Four!' }), // same prompt after normalization
      pair('Tell me a secret', { text: "I'm sorry, but I can't help with that." }),
      pair('Empty?', { text: '   ' }),
      pair('Long?', { text: 'x'.repeat(settings.maxAnswerChars + 1) }),
      pair('Truncated?', { text: 'partial', finishReason: 'length' }),
      pair('Failed?', { error: { status: 502, code: 'upstream_error', message: 'boom' } }),
      pair('No teacher?', undefined),
      pair('Fine?', { text: 'Yes.' }),
    ];
    const ds = await buildDataset(iter(pairs), { task: 't', version: 'v1', now: '2026-01-02T00:00:00Z', settings });
    expect(ds.examples.map((e) => e.target)).toEqual(['Four.', 'Yes.']);
    expect(ds.manifest.counts.dropped).toEqual({ noTeacher: 1, error: 1, refusal: 1, empty: 1, overLong: 2, invalidLabel: 0, truncatedByRedaction: 0, duplicate: 1 });
    expect(ds.manifest.source.pairsScanned).toBe(9);
  });

  it('drops classifier answers outside the label set and reports class balance', async () => {
    const task = parseClassificationTask({ labels: ['refund', 'balance'] });
    const parseLabel = createLabelParser(task);
    const pairs = [pair('a', { text: 'refund' }), pair('b', { text: 'Balance.' }), pair('c', { text: 'weather' }), pair('d', { text: 'refund' })];
    const ds = await buildDataset(iter(pairs), { task: 't', version: 'v', now: 'x', settings, classification: task, parseLabel });
    expect(ds.examples.map((e) => e.label).sort()).toEqual(['balance', 'refund', 'refund']); // examples come in a stable order (#15 row 8)
    expect(ds.manifest.counts.dropped.invalidLabel).toBe(1);
    const total = Object.values(ds.manifest.classBalance!).reduce((s, r) => s + r.train + r.validation + r.test, 0);
    expect(total).toBe(3);
    expect(ds.manifest.classBalance!.refund!.train + ds.manifest.classBalance!.refund!.validation + ds.manifest.classBalance!.refund!.test).toBe(2);
  });

  it('splits by prompt hash: stable across builds, test prompts never in training, shares as configured', async () => {
    const prompts = Array.from({ length: 5000 }, (_, i) => `question number ${i}`);
    const build = () => buildDataset(iter(prompts.map((p, i) => pair(p, { text: 'ok' }, { id: `q${i}` }))), { task: 't', version: 'v', now: 'x', settings });
    const a = await build();
    const b = await build();
    const splitA = new Map(a.examples.map((e) => [e.promptHash, e.split]));
    for (const e of b.examples) expect(e.split).toBe(splitA.get(e.promptHash));
    const test = a.examples.filter((e) => e.split === 'test').length / a.examples.length;
    const validation = a.examples.filter((e) => e.split === 'validation').length / a.examples.length;
    expect(test).toBeGreaterThan(0.08);
    expect(test).toBeLessThan(0.12);
    expect(validation).toBeGreaterThan(0.08);
    expect(validation).toBeLessThan(0.12);
    // Decontamination: a test prompt asked again later lands in test again, never in train.
    const testPrompt = a.examples.find((e) => e.split === 'test')!;
    expect(splitOf(hash53(promptKey(testPrompt.messages)), settings.validationShare, settings.testShare)).toBe('test');
    expect(a.manifest.contentHash).toBe(b.manifest.contentHash);
  });

  it('is reproducible: the same answers in another arrival order, under other pair ids, give the same examples and hash (#15 row 8)', async () => {
    const answers = Array.from({ length: 200 }, (_, i) => ({ prompt: `question ${i}`, text: `answer ${i}` }));
    const build = (order: typeof answers, job: string) =>
      buildDataset(iter(order.map((a, i) => pair(a.prompt, { text: a.text }, { id: `${job}:${i}` }))), { task: 't', version: job, now: 'x', settings });
    const shuffled = [...answers].sort((a, b) => hash53(a.prompt).localeCompare(hash53(b.prompt)));
    const a = await build(answers, 'job-1');
    const b = await build(shuffled, 'job-2');
    expect(b.examples.map((e) => e.promptHash)).toEqual(a.examples.map((e) => e.promptHash));
    expect(b.examples.map((e) => e.target)).toEqual(a.examples.map((e) => e.target));
    expect(b.manifest.contentHash).toBe(a.manifest.contentHash);
    // A different answer is a different dataset.
    const c = await build(answers.map((x, i) => (i === 7 ? { ...x, text: 'changed' } : x)), 'job-3');
    expect(c.manifest.contentHash).not.toBe(a.manifest.contentHash);
  });

  it('keeps answers cut at max_tokens only when the task accepts truncation (#15 row 5)', async () => {
    const cut = () => iter([pair('Explain everything', { text: 'It all began', finishReason: 'length' })]);
    expect((await buildDataset(cut(), { task: 't', version: 'v', now: 'x', settings })).manifest.counts.dropped.overLong).toBe(1);
    expect((await buildDataset(cut(), { task: 't', version: 'v', now: 'x', settings: { ...settings, acceptTruncated: true } })).examples).toHaveLength(1);
  });

  it('exports OpenAI chat fine-tuning JSONL with the teacher answer as the assistant turn', async () => {
    const ds = await buildDataset(iter([pair('Hi', { text: 'Hello!' })]), { task: 't', version: 'v', now: 'x', settings });
    const line = JSON.parse(toChatFineTuningJsonl(ds.examples).trim());
    expect(line).toEqual({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }] });
  });
});
