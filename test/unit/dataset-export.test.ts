import { describe, expect, it } from 'vitest';
import type { DatasetExample } from '../../src/core/distill/dataset-builder.js';
import { exportDataset } from '../../src/core/distill/dataset-export.js';

// #18: a built dataset in the JSONL fine-tuning tools read (OpenAI chat, Azure ML chat, messages
// for HF TRL / Unsloth), one conversation per line ending with the teacher's answer.

const example = (id: string, split: DatasetExample['split'], messages: DatasetExample['messages'], target: string): DatasetExample => ({
  id,
  promptHash: id,
  split,
  messages,
  target,
  createdAt: '2025-01-01T00:00:00.000Z',
});

const examples = [
  example('a', 'train', [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'Hi', name: 'ann' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'Refund?' }], 'Within 5 days.'),
  example('b', 'test', [{ role: 'user', content: 'Part one.' }, { role: 'user', content: 'Part two.' }], 'Done.'),
];
const lines = (text: string) => text.trimEnd().split('\n').map((l) => JSON.parse(l));

describe('dataset export', () => {
  it('openai: name kept, earlier assistant turns weighted 0, developer as system', () => {
    const [first] = lines(exportDataset(examples, 'openai', 'train'));
    expect(first).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi', name: 'ann' },
        { role: 'assistant', content: 'Hello!', weight: 0 },
        { role: 'user', content: 'Refund?' },
        { role: 'assistant', content: 'Within 5 days.' },
      ],
    });
  });

  it('azure-ml: role and content only, same-role turns joined so roles alternate', () => {
    const out = lines(exportDataset(examples, 'azure-ml'));
    expect(out[0].messages[1]).toEqual({ role: 'user', content: 'Hi' });
    expect(out[1]).toEqual({ messages: [{ role: 'user', content: 'Part one.\n\nPart two.' }, { role: 'assistant', content: 'Done.' }] });
  });

  it('messages: the conversation as it was, role and content only; a split selects its examples', () => {
    const out = lines(exportDataset(examples, 'messages', 'test'));
    expect(out).toEqual([{ messages: [{ role: 'user', content: 'Part one.' }, { role: 'user', content: 'Part two.' }, { role: 'assistant', content: 'Done.' }] }]);
    expect(exportDataset(examples, 'messages', 'validation')).toBe('');
  });
});
