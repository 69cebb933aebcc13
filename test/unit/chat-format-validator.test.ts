import { getEncoding } from 'js-tiktoken';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultEpochs, validateChatDataset } from '../../src/core/distill/chat-format-validator.js';

const enc = getEncoding('cl100k_base');
const count = (t: string) => enc.encode(t).length;
const jsonl = readFileSync(new URL('../../data/openai-chat-format/toy_chat_fine_tuning.jsonl', import.meta.url), 'utf8');
const expected = JSON.parse(readFileSync(new URL('../../data/openai-chat-format/expected_from_cookbook_notebook.json', import.meta.url), 'utf8'));

describe("chat dataset validation matches OpenAI's data-preparation notebook", () => {
  const r = validateChatDataset(jsonl, count);

  it('counts examples and finds no format errors', () => {
    expect(r.numExamples).toBe(expected.num_examples);
    expect(r.formatErrors).toEqual({});
  });
  it('counts missing system and user messages', () => {
    expect(r.numMissingSystem).toBe(expected.num_examples_missing_system_message);
    expect(r.numMissingUser).toBe(expected.num_examples_missing_user_message);
  });
  it('reproduces the message-count distribution', () => {
    const m = expected.num_messages_per_example;
    expect(r.messagesPerExample).toEqual({ min: m.min, max: m.max, mean: m.mean, median: m.median, p10: m.p10_printed_as_p5, p90: m.p90_printed_as_p95 });
  });
  it('reproduces token counts (cl100k_base) and their distributions', () => {
    const t = expected.num_total_tokens_per_example;
    expect(r.totalTokensPerExample!.min).toBe(t.min);
    expect(r.totalTokensPerExample!.max).toBe(t.max);
    expect(r.totalTokensPerExample!.mean).toBeCloseTo(t.mean, 6);
    expect(r.totalTokensPerExample!.median).toBe(t.median);
    expect(r.totalTokensPerExample!.p10).toBeCloseTo(t.p10, 6);
    expect(r.totalTokensPerExample!.p90).toBeCloseTo(t.p90, 6);
    const a = expected.num_assistant_tokens_per_example;
    expect(r.assistantTokensPerExample).toEqual({ min: a.min, max: a.max, mean: expect.closeTo(a.mean, 6), median: a.median, p10: expect.closeTo(a.p10, 6), p90: expect.closeTo(a.p90, 6) });
    expect(r.numOverMaxTokens).toBe(expected.n_over_4096_tokens);
  });
  it('reproduces the billing estimate', () => {
    expect(r.billing).toEqual({
      maxTokensPerExample: expected.billing.MAX_TOKENS_PER_EXAMPLE,
      billingTokens: expected.billing.n_billing_tokens_in_dataset,
      epochs: expected.billing.default_n_epochs,
      chargedTokens: expected.billing.charged_tokens,
    });
  });
});

describe('format errors', () => {
  it('reports each category with line numbers', () => {
    const bad = [
      '[1, 2]',
      '{"nomessages": true}',
      '{"messages": [{"role": "user"}]}',
      '{"messages": [{"role": "user", "content": "hi", "extra": 1}, {"role": "assistant", "content": "x"}]}',
      '{"messages": [{"role": "wizard", "content": "hi"}, {"role": "assistant", "content": "x"}]}',
      '{"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "x"}]}',
      '{"messages": [{"role": "user", "content": "only user"}]}',
      'not json',
    ].join('\n');
    const r = validateChatDataset(bad, count);
    expect(r.formatErrors).toEqual({
      data_type: 1,
      missing_messages_list: 1,
      message_missing_key: 1,
      missing_content: 2,
      message_unrecognized_key: 1,
      unrecognized_role: 1,
      example_missing_assistant_message: 2,
      json_parse: 1,
    });
    expect(r.errorLines).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
  it('applies the epoch rule at its edges', () => {
    expect(defaultEpochs(5)).toBe(20);
    expect(defaultEpochs(34)).toBe(3);
    expect(defaultEpochs(33)).toBe(3);
    expect(defaultEpochs(30)).toBe(3);
    expect(defaultEpochs(20)).toBe(5);
    expect(defaultEpochs(10_000)).toBe(2);
    expect(defaultEpochs(100_000)).toBe(1);
  });
});
