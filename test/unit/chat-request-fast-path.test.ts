import { describe, expect, it } from 'vitest';
import { fastChatCompletionRequest, parseChatCompletionRequest } from '../../src/core/chat/chat-request-fast-path.js';
import { chatCompletionRequestSchema } from '../../src/core/chat/chat-request-schema.js';
import { createRandom } from '../../src/core/eval/random.js';

// The fast path must answer exactly as the schema does: the same parsed request (keys in the same
// order) when it takes a body, and no answer at all for a body the schema refuses, so that every
// error message is the schema's.

const hot = { model: 'bench', messages: [{ role: 'system', content: 'You are a support assistant.' }, { role: 'user', content: 'What is my account balance?' }], user: 'bench-user' };

// Values around each field's limits, valid and not, and of the wrong types.
const candidates: Record<string, unknown[]> = {
  temperature: [0, 1.5, 2, 2.01, -0.1, null, '1', true],
  top_p: [0, 1, 1.2, null, -1],
  max_tokens: [1, 4096, 0, 1.5, null, -3, 2 ** 60],
  max_completion_tokens: [1, 100, 0, 2.5, null],
  n: [1, 2, 128, 129, 0, 1.5, null],
  presence_penalty: [-2, 2, 2.5, -3, null],
  frequency_penalty: [0, -2.1, null],
  logprobs: [true, false, null, 'yes'],
  top_logprobs: [0, 5, 20, 21, -1, 1.5, null],
  seed: [0, -5, 42, 1.5, 2 ** 60, null],
  parallel_tool_calls: [true, false, null],
  user: ['u', 'x'.repeat(256), 'x'.repeat(257), null, 5],
  store: [true, false, null],
  stream: [true, false, null, 1],
  stream_options: [{ include_usage: true }, { include_usage: false }, {}, null, { include_usage: 'y' }, { other: 1 }, [], 'x'],
  reasoning_effort: ['low', 'high', 'minimal', 'medium', 'extreme', null],
  service_tier: ['auto', null, 3],
  // Left to the schema (not the hot shape), valid or not.
  stop: ['\n', ['a', 'b'], null],
  metadata: [{ a: 'b' }, null],
  tools: [[]],
  response_format: [{ type: 'json_object' }],
  unknown_field: [1, 'x'],
};

const messageCandidates: unknown[] = [
  { role: 'system', content: 'be brief' },
  { role: 'developer', content: 'rules', name: 'dev' },
  { role: 'user', content: 'hello', name: 'alice' },
  { role: 'user', content: '' },
  { role: 'user', content: [{ type: 'text', text: 'part' }] },
  { role: 'user', content: 'x', name: '' },
  { role: 'user', content: 'x', name: 'n'.repeat(65) },
  { role: 'user', content: 'x', name: null },
  { role: 'user', content: 5 },
  { role: 'user' },
  { role: 'user', content: 'x', extra: 1 },
  { role: 'assistant', content: 'sure' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
  { role: 'assistant', content: null },
  { role: 'assistant', content: 'a', refusal: null },
  { role: 'tool', content: '42', tool_call_id: 'c1' },
  { role: 'tool', content: '42' },
  { role: 'oracle', content: 'x' },
  { role: 'constructor', content: 'x' },
  { role: 'toString', content: 'x' },
  null,
  'user: hi',
  [],
];

function compare(body: unknown) {
  const zod = chatCompletionRequestSchema.safeParse(structuredClone(body));
  const fast = fastChatCompletionRequest(structuredClone(body));
  if (fast === undefined) return { taken: false, valid: zod.success };
  expect(zod.success, JSON.stringify(body)).toBe(true);
  // Same values and the same key order (stored pairs and forwarded bodies serialise alike).
  expect(JSON.stringify(fast), JSON.stringify(body)).toBe(JSON.stringify(zod.data));
  return { taken: true, valid: true };
}

describe('fastChatCompletionRequest', () => {
  it('takes the hot shape and gives what the schema gives', () => {
    expect(compare(hot).taken).toBe(true);
    expect(compare({ ...hot, stream: true, stream_options: { include_usage: true }, temperature: 0.2, n: 1 }).taken).toBe(true);
    expect(compare({ ...hot, messages: [...hot.messages, { role: 'assistant', content: 'ok' }, { role: 'tool', content: '1', tool_call_id: 'c' }] }).taken).toBe(true);
  });

  it('agrees with the schema on every field at and around its limits', () => {
    for (const [key, values] of Object.entries(candidates)) for (const v of values) compare({ ...hot, [key]: v });
  });

  it('agrees with the schema on every message shape', () => {
    for (const m of messageCandidates) compare({ ...hot, messages: [m] });
    for (const m of messageCandidates) compare({ ...hot, messages: [hot.messages[1], m] });
  });

  it('agrees with the schema on random combinations, and leaves every invalid body to it', () => {
    const random = createRandom(19);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const keys = Object.keys(candidates);
    let taken = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      // Mostly valid models and messages, so that the option values decide.
      const body: Record<string, unknown> = { model: random() < 0.8 ? 'bench' : pick(['', 'm'.repeat(257), 7]) };
      const message = () => (random() < 0.8 ? pick(messageCandidates.slice(0, 4)) : pick(messageCandidates));
      if (random() > 0.03) body.messages = random() > 0.05 ? Array.from({ length: 1 + Math.floor(random() * 3) }, message) : [];
      for (let k = Math.floor(random() * 4); k > 0; k--) {
        const key = pick(keys);
        body[key] = pick(candidates[key]!);
      }
      const r = compare(body);
      if (r.taken) taken++;
      if (!r.valid) refused++;
    }
    // Both branches were exercised.
    expect(taken).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
  });

  it('non-objects and structural errors go to the schema, whose message stays the same', () => {
    for (const body of [null, [], 'x', 5, {}, { model: 'm' }, { model: 'm', messages: [] }, { model: 'm', messages: 'hi' }]) {
      expect(fastChatCompletionRequest(body)).toBeUndefined();
      expect(() => parseChatCompletionRequest(body)).toThrow();
    }
    const err = (() => {
      try {
        parseChatCompletionRequest({ ...hot, top_logprobs: 3 });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toContain('top_logprobs requires logprobs to be true.');
  });
});
