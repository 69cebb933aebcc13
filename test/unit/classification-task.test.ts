import { describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import {
  classificationTaskSchema,
  createLabelParser,
  formatLabel,
  labelDistributionFromLogprobs,
  parseClassificationTask,
} from '../../src/core/tasks/classification-task.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';

const labels = ['transfer', 'pay_bill', 'balance', 'pin_change'];

describe('classification task', () => {
  it('fills student hyperparameter defaults and nests in the task schema', () => {
    const task = taskSchema.parse({ name: 'banking', teacher: 'gpt-4o', classification: { labels } });
    expect(task.classification?.labelFormat).toEqual({ type: 'label' });
    expect(task.classification?.student).toMatchObject({ learning_rate: 1, batch_size: 1, temperature: 2, seed: 42, hidden_size: 0 });
    expect(taskSchema.parse({ name: 'chat', teacher: 'gpt-4o' }).classification).toBeUndefined();
  });

  it('rejects bad task definitions with a typed 400', () => {
    for (const bad of [
      { labels: ['a'] },
      { labels: ['a', 'a'] },
      { labels: ['Pay bill', 'pay_bill'] },
      { labels, student: { learning_rate: -1 } },
      { labels, student: { char_ngram_min: 5, char_ngram_max: 3 } },
      { labels, labelFormat: { type: 'xml' } },
    ]) {
      expect(classificationTaskSchema.safeParse(bad).success).toBe(false);
      expect(() => parseClassificationTask(bad)).toThrow(DistilleryError);
    }
  });

  it('parses plain label answers tolerantly', () => {
    const parse = createLabelParser({ labels, labelFormat: { type: 'label' } });
    expect(parse('transfer')).toBe('transfer');
    expect(parse('  Transfer.\n')).toBe('transfer');
    expect(parse('"PAY_BILL"')).toBe('pay_bill');
    expect(parse('pay bill!')).toBe('pay_bill');
    expect(parse('`pin-change`')).toBe('pin_change');
    expect(parse('Label: balance')).toBe('balance');
    expect(parse('{"label": "balance"}')).toBe('balance');
    expect(parse('I think the user wants to transfer money')).toBeNull();
    expect(parse('')).toBeNull();
    expect(parse('refund')).toBeNull();
  });

  it('parses JSON answers by the configured key, including fenced JSON', () => {
    const task = classificationTaskSchema.parse({ labels, labelFormat: { type: 'json', key: 'intent' } });
    const parse = createLabelParser(task);
    expect(parse('{"intent": "Balance"}')).toBe('balance');
    expect(parse('```json\n{"intent":"transfer"}\n```')).toBe('transfer');
    expect(parse('{"intent": "refund"}')).toBeNull();
    expect(parse('{"intent": 3}')).toBeNull();
    expect(parse('{"intent": ')).toBeNull();
    expect(parse('[1,2]')).toBeNull();
    expect(formatLabel('balance', task.labelFormat)).toBe('{"intent":"balance"}');
    expect(parse(formatLabel('pin_change', task.labelFormat))).toBe('pin_change');
    expect(formatLabel('balance', { type: 'label' })).toBe('balance');
  });

  it('reads a teacher distribution from first-token logprobs', () => {
    const task = { labels, labelFormat: { type: 'label' as const } };
    const dist = labelDistributionFromLogprobs(
      [
        {
          token: 'trans',
          logprob: Math.log(0.6),
          topLogprobs: [
            { token: 'trans', logprob: Math.log(0.6) },
            { token: 'p', logprob: Math.log(0.2) }, // begins pay_bill and pin_change: split evenly
            { token: 'bal', logprob: Math.log(0.1) },
            { token: 'hello', logprob: Math.log(0.1) }, // begins no label: dropped, rest renormalized
          ],
        },
      ],
      task,
    )!;
    expect(dist.transfer).toBeCloseTo(0.6 / 0.9, 12);
    expect(dist.pay_bill).toBeCloseTo(0.1 / 0.9, 12);
    expect(dist.pin_change).toBeCloseTo(0.1 / 0.9, 12);
    expect(dist.balance).toBeCloseTo(0.1 / 0.9, 12);
    expect(labelDistributionFromLogprobs(null, task)).toBeUndefined();
    expect(labelDistributionFromLogprobs([{ token: 'zzz', logprob: -0.1 }], task)).toBeUndefined();
  });
});
