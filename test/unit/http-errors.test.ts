import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPairs, KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// Every refused request gets OpenAI's error object with the right status, and stores nothing.
// Through app.request(): the Hono app without a socket. The teacher is a real fake-OpenAI server
// whose faults are scripted by the prompt text.

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    teacher: {
      fault: (req) => {
        const text = req.body.messages?.at(-1)?.content;
        if (text === 'upstream-500') return { kind: 'status', status: 500, message: 'teacher exploded' };
        if (text === 'upstream-400') return { kind: 'status', status: 400, message: 'context length exceeded' };
        if (text === 'upstream-hang') return { kind: 'hang' };
        return undefined;
      },
    },
    tasks: [
      { name: 'teacher-only', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' }, timeoutInMs: 300 } },
      { name: 'with-student', teacher: 'teacher', student: { source: 'model', model: 'student' }, routing: { policy: { type: 'pinned', arm: 'student' } } },
    ],
  });
});
afterAll(() => h.close());

const post = (body: unknown, headers: Record<string, string> = {}) =>
  h.distillery.app.request('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array || body instanceof ReadableStream ? (body as RequestInit["body"]) : JSON.stringify(body),
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);

const valid = { model: 'teacher-only', messages: [{ role: 'user', content: 'hello' }] };

async function expectOpenAIError(res: Response, status: number, code?: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
  if (code) expect(body.error.code).toBe(code);
  return body.error;
}

describe('refused requests', () => {
  it('malformed JSON → 400 invalid_json', async () => {
    await expectOpenAIError(await post('{"model": "teacher-only", '), 400, 'invalid_json');
  });
  it('a JSON array or empty body → 400', async () => {
    await expectOpenAIError(await post('[1,2]'), 400, 'invalid_json');
    await expectOpenAIError(await post(''), 400, 'invalid_json');
  });
  it('malformed UTF-8 → 400 invalid_encoding', async () => {
    const bytes = new Uint8Array([...Buffer.from('{"model":"teacher-only","messages":[{"role":"user","content":"'), 0xff, 0xfe, ...Buffer.from('"}]}')]);
    await expectOpenAIError(await post(bytes), 400, 'invalid_encoding');
  });
  it('deeply nested JSON → 400', async () => {
    await expectOpenAIError(await post(`{"model":"teacher-only","messages":${'['.repeat(500)}${']'.repeat(500)}}`), 400, 'invalid_json');
  });
  it('schema violations name the parameter', async () => {
    const e1 = await expectOpenAIError(await post({ model: 'teacher-only', messages: [] }), 400, 'invalid_value');
    expect(e1.param).toBe('messages');
    const e2 = await expectOpenAIError(await post({ ...valid, temperature: 3 }), 400);
    expect(e2.param).toBe('temperature');
    const e3 = await expectOpenAIError(await post({ ...valid, messages: [{ role: 'wizard', content: 'x' }] }), 400);
    expect(e3.param).toMatch(/^messages\.0/);
    const e4 = await expectOpenAIError(await post({ ...valid, metadata: { k: 'v'.repeat(513) } }), 400);
    expect(e4.param).toMatch(/^metadata/);
    const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    await expectOpenAIError(await post({ ...valid, metadata: tooMany }), 400);
    await expectOpenAIError(await post({ ...valid, top_logprobs: 3 }), 400);
    await expectOpenAIError(await post({ ...valid, stream_options: { include_usage: true } }), 400);
  });
  it('tolerates unknown fields as OpenAI does', async () => {
    const res = await post({ ...valid, some_future_field: { x: 1 } });
    expect(res.status).toBe(200);
  });
  it('unknown model → 404 model_not_found', async () => {
    const e = await expectOpenAIError(await post({ ...valid, model: 'gpt-9' }), 404, 'model_not_found');
    expect(e.param).toBe('model');
  });
  it('declared body over the limit → 413 before reading', async () => {
    const res = await post('{}', { 'content-length': String(10 * 1024 * 1024) });
    await expectOpenAIError(res, 413, 'request_too_large');
  });
  it('chunked body over the limit → 413, abandoned while reading', async () => {
    let pulled = 0;
    const chunk = new Uint8Array(16 * 1024).fill(32);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 1000) controller.close();
        else controller.enqueue(chunk);
      },
    });
    await expectOpenAIError(await post(body), 413, 'request_too_large');
    // 64 KiB limit / 16 KiB chunks: reading stops after a handful of chunks, never all 1000.
    expect(pulled).toBeLessThan(10);
  });
  it('missing or wrong key → 401; chat key on admin header → 403', async () => {
    await expectOpenAIError(await post(valid, { authorization: '' }), 401, 'invalid_api_key');
    await expectOpenAIError(await post(valid, { authorization: 'Bearer nope' }), 401, 'invalid_api_key');
    await expectOpenAIError(await post(valid, { 'x-distillery-force-arm': 'student' }), 403, 'insufficient_scope');
  });
  it('accepts the Azure-style api-key header', async () => {
    const res = await post(valid, { authorization: '', 'api-key': KEYS.chatA });
    expect(res.status).toBe(200);
  });
  it('upstream failure → 502 with the upstream status but not its words (issue #14, row 11); client errors upstream are not retried on the other arm', async () => {
    const e = await expectOpenAIError(await post({ ...valid, messages: [{ role: 'user', content: 'upstream-500' }] }), 502, 'upstream_error');
    expect(e.message).toBe("The upstream model 'teacher' failed (HTTP 500).");
    const e2 = await expectOpenAIError(await post({ ...valid, messages: [{ role: 'user', content: 'upstream-400' }] }), 502);
    expect(e2.message).toBe("The upstream model 'teacher' failed (HTTP 400).");
  });
  it('upstream time-out → 504', async () => {
    await expectOpenAIError(await post({ ...valid, messages: [{ role: 'user', content: 'upstream-hang' }] }), 504, 'upstream_timeout');
  });
  it('unknown route → 404 in the OpenAI shape', async () => {
    const res = await h.distillery.app.request('/v1/nothing', { headers: { authorization: `Bearer ${KEYS.chatA}` } });
    await expectOpenAIError(res, 404, 'unknown_url');
  });
  it('stored nothing for any refused input', async () => {
    const pairs = await allPairs(h.distillery, 'teacher-only');
    // Only the accepted requests (unknown-field, api-key) and upstream failures are recorded.
    const texts = pairs.map((p) => p.request.messages[0] && 'content' in p.request.messages[0] ? p.request.messages[0].content : '');
    expect(texts.filter((t) => t === 'hello')).toHaveLength(2);
    expect(pairs.every((p) => p.task === 'teacher-only')).toBe(true);
    expect(pairs).toHaveLength(5);
  });
});

describe('admin force header', () => {
  it('an admin key can force an arm', async () => {
    const res = await post({ ...valid, model: 'with-student' }, { authorization: `Bearer ${KEYS.admin}`, 'x-distillery-force-arm': 'teacher' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-distillery-arm')).toBe('teacher');
    expect(res.headers.get('x-distillery-reason')).toMatch(/forced/);
  });
});
