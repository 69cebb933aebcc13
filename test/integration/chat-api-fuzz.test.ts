import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPairs, KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// Property-based fuzzing of POST /v1/chat/completions: generated bodies (valid requests, mutated
// requests, random JSON, random bytes) never produce a 5xx or a crash, every refusal is an
// OpenAI error object, and nothing is stored for refused input. FUZZ_RUNS=10000 for the full run.

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    teacher: { answer: () => ({ text: 'ok' }) },
    tasks: [{ name: 'fuzz', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' } } }],
  });
});
afterAll(() => h.close());

const role = fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'function', 'wizard', '');
const content = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.constant(null),
  fc.array(fc.record({ type: fc.constantFrom('text', 'image_url', 'refusal', 'bogus'), text: fc.string({ maxLength: 10 }) }, { requiredKeys: [] }), { maxLength: 3 }),
  fc.integer(),
);
const message = fc.record(
  { role, content, name: fc.string({ maxLength: 70 }), tool_call_id: fc.string({ maxLength: 5 }), tool_calls: fc.anything({ maxDepth: 2 }) },
  { requiredKeys: ['role'] },
);
const request = fc.record(
  {
    model: fc.oneof(fc.constant('fuzz'), fc.string({ maxLength: 10 }), fc.integer()),
    messages: fc.oneof(fc.array(message, { maxLength: 4 }), fc.anything({ maxDepth: 2 })),
    temperature: fc.oneof(fc.double({ noNaN: false }), fc.string({ maxLength: 3 })),
    top_p: fc.double(),
    max_tokens: fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.double()),
    stop: fc.oneof(fc.string({ maxLength: 5 }), fc.array(fc.string({ maxLength: 3 }), { maxLength: 6 })),
    logprobs: fc.boolean(),
    top_logprobs: fc.integer({ min: -2, max: 25 }),
    metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 70 }), fc.string({ maxLength: 600 }), { maxKeys: 20 }), fc.anything({ maxDepth: 1 })),
    user: fc.string({ maxLength: 300 }),
    store: fc.oneof(fc.boolean(), fc.constant(null)),
    stream: fc.constant(false),
    response_format: fc.oneof(fc.record({ type: fc.constantFrom('text', 'json_object', 'json_schema', 'xml') }), fc.anything({ maxDepth: 1 })),
    n: fc.integer({ min: 0, max: 3 }),
    unknown_field: fc.anything({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);
// Valid requests with random but legal parameters and unknown extra fields (tolerated).
const validRequest = fc.record(
  {
    model: fc.constant('fuzz'),
    messages: fc.array(
      fc.oneof(
        fc.record({ role: fc.constantFrom('system', 'developer', 'user'), content: fc.string({ maxLength: 40 }) }),
        fc.record({ role: fc.constant('assistant'), content: fc.string({ minLength: 1, maxLength: 40 }) }),
        fc.record({ role: fc.constant('user'), content: fc.array(fc.record({ type: fc.constant('text'), text: fc.string({ maxLength: 20 }) }), { minLength: 1, maxLength: 3 }) }),
      ),
      { minLength: 1, maxLength: 5 },
    ),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    max_tokens: fc.integer({ min: 1, max: 4096 }),
    stop: fc.array(fc.string({ maxLength: 3 }), { maxLength: 4 }),
    user: fc.string({ maxLength: 64 }),
    metadata: fc.dictionary(fc.string({ maxLength: 64 }), fc.string({ maxLength: 512 }), { maxKeys: 16 }),
    store: fc.boolean(),
    extra_unknown: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['model', 'messages'] },
);
const body = fc.oneof(
  { weight: 4, arbitrary: validRequest.map((r) => JSON.stringify(r)) },
  { weight: 6, arbitrary: request.map((r) => JSON.stringify(r)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
);

describe('chat API fuzzing', () => {
  it(`never answers 5xx, always in OpenAI shape, stores only what it accepted (${RUNS} runs)`, async () => {
    let accepted = 0;
    let storedExpected = 0;
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const res = await h.distillery.app.request('/v1/chat/completions', {
          method: 'POST',
          headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
          body: payload,
        });
        expect(res.status).toBeLessThan(500);
        const json = (await res.json()) as Record<string, unknown>;
        if (res.status === 200) {
          accepted++;
          expect(json.object).toBe('chat.completion');
          const parsed = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
          if (parsed.store !== false) storedExpected++;
        } else {
          expect(res.status).toBeGreaterThanOrEqual(400);
          const error = json.error as Record<string, unknown>;
          expect(typeof error.message).toBe('string');
          expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
        }
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261127) },
    );
    const stored = await allPairs(h.distillery, 'fuzz');
    expect(stored).toHaveLength(storedExpected);
    expect(accepted).toBeGreaterThan(0);
  }, 300_000);
});
