import { describe, expect, it } from 'vitest';
import { buildDataset } from '../../src/core/distill/dataset-builder.js';
import { distillSettingsSchema } from '../../src/core/distill/distill-settings.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import { PairRedactor } from '../../src/core/pairs/redaction.js';
import { redactionSchema } from '../../src/core/tasks/task-schema.js';

// A pair whose stored prompt or answer redaction cut (over maxFieldChars, or past the time budget)
// is not what the teacher saw or said: it must not train a student, and the report says why.

const settings = distillSettingsSchema.parse({}).dataset;

async function redactedPair(id: string, prompt: string, answer: string): Promise<PairRecord> {
  const redactor = new PairRedactor(redactionSchema.parse({ enabled: true, kinds: ['email'], maxFieldChars: 1024 }));
  const content = await redactor.text(prompt);
  const text = await redactor.text(answer);
  return {
    id,
    task: 't',
    tenant: 'a',
    createdAt: '2026-01-01T00:00:00.000Z',
    request: { messages: [{ role: 'user', content }], params: {} },
    servedArm: 'teacher',
    reason: 'x',
    policy: 'pinned',
    teacher: { model: 'm', latencyInMs: 1, role: 'served', finishReason: 'stop', text },
    source: { kind: 'traffic' },
    ...(redactor.marks.length ? { redacted: redactor.marks } : {}),
  };
}

async function* iter(pairs: PairRecord[]) {
  yield* pairs;
}

describe('dataset builder and redaction truncation', () => {
  it('skips pairs whose prompt or answer redaction truncated, counting them as truncatedByRedaction', async () => {
    const pairs = [
      await redactedPair('whole', 'Write to bob@example.com please', 'Done.'),
      await redactedPair('long-prompt', `Summarize: ${'lorem ipsum '.repeat(400)}`, 'A summary.'),
      await redactedPair('long-answer', 'Tell me a story', 'Once upon a time '.repeat(200)),
    ];
    expect(pairs.map((p) => p.redacted)).toEqual([['email'], ['truncated'], ['truncated']]);
    const ds = await buildDataset(iter(pairs), { task: 't', version: 'v1', now: '2026-01-02T00:00:00Z', settings });
    expect(ds.examples.map((e) => e.id)).toEqual(['whole']);
    expect(ds.manifest.counts.kept).toBe(1);
    expect(ds.manifest.counts.dropped.truncatedByRedaction).toBe(2);
    expect(ds.manifest.counts.dropped.overLong).toBe(0);
  });
});
