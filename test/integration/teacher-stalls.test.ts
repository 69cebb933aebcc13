import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import type { Fault } from '../fixtures/fake-openai-server.js';

// A teacher (a real HTTP server) that sends its headers and then nothing, or streams a few chunks
// and then goes silent with the socket open. Before the idle time-out existed these requests hung
// forever (no 504, no fallback, the breaker never counted them, streams got neither [DONE] nor an
// error). Bounds are generous: the assertion is "ends near the idle time-out", not a precise time.

const IDLE_MS = 400;
const BOUND_MS = IDLE_MS + 4_000;

let h: Harness;
let server: RunningServer;
let client: OpenAI;

function faultFor(prompt: string): Fault | undefined {
  if (prompt.startsWith('stall-headers')) return { kind: 'stall-after-headers' };
  if (prompt.startsWith('stall-mid')) return { kind: 'stall-mid-stream', afterChunks: 2 };
  return undefined;
}

beforeAll(async () => {
  h = await startHarness({
    teacher: {
      answer: (req) => ({ text: `teacher answer to ${req.body.messages.at(-1).content}` }),
      fault: (req) => faultFor(String(req.body.messages?.at(-1)?.content ?? '')),
    },
    student: { answer: () => ({ text: 'student answer' }) },
    teacherSettings: { idleTimeoutInMs: IDLE_MS, circuitBreaker: { failureThreshold: 1000 } },
    models: ({ teacher }) => ({
      // The same stalling teacher behind its own breaker, to watch it count the stalls.
      'counted-teacher': { provider: 'openai', baseURL: teacher.baseURL, model: 'gpt-4o', auth: 'none', maxRetries: 0, idleTimeoutInMs: IDLE_MS, circuitBreaker: { failureThreshold: 2, cooldownInMs: 60_000 } },
    }),
    tasks: [
      { name: 'no-fallback', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' }, fallback: false } },
      { name: 'with-fallback', teacher: 'teacher', student: { source: 'model', model: 'student' }, routing: { policy: { type: 'pinned', arm: 'teacher' } } },
      { name: 'counted', teacher: 'counted-teacher', routing: { policy: { type: 'pinned', arm: 'teacher' }, fallback: false } },
    ],
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEYS.chatA, maxRetries: 0, timeout: 30_000 });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await h?.close();
});

const timed = async <T>(f: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> => {
  const t0 = performance.now();
  try {
    const value = await f();
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
};

const ask = (model: string, content: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content }] }).withResponse();

async function streamAll(model: string, content: string) {
  const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content }], stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

describe('a teacher that stalls after its headers or mid-stream', () => {
  it('unstreamed, stalled after the headers: 504 within the idle time-out; with fallback the student answers', async () => {
    const r = await timed(() => ask('no-fallback', 'stall-headers a'));
    expect(r.error).toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(r.ms).toBeLessThan(BOUND_MS);

    const f = await timed(() => ask('with-fallback', 'stall-headers b'));
    expect(f.value?.data.choices[0]!.message.content).toBe('student answer');
    expect(f.value?.response.headers.get('x-distillery-reason')).toMatch(/fallback to student after teacher failed \(upstream_timeout\)/);
    expect(f.ms).toBeLessThan(BOUND_MS);
  });

  it('streamed, stalled after the headers: 504 before any byte of the body; with fallback the student streams', async () => {
    const r = await timed(() => streamAll('no-fallback', 'stall-headers c'));
    expect(r.error).toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(r.ms).toBeLessThan(BOUND_MS);

    const f = await timed(() => streamAll('with-fallback', 'stall-headers d'));
    expect(f.value).toBe('student answer');
    expect(f.ms).toBeLessThan(BOUND_MS);
  });

  it('streamed, stalled mid-stream: the started stream ends with an OpenAI error event, no [DONE]', async () => {
    const r = await timed(() => streamAll('with-fallback', 'stall-mid e'));
    // The openai client raises the error event as an APIError carrying its code.
    expect(r.error).toMatchObject({ code: 'upstream_timeout', type: 'timeout_error' });
    expect(r.ms).toBeLessThan(BOUND_MS);

    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'no-fallback', messages: [{ role: 'user', content: 'stall-mid f' }], stream: true }),
    });
    expect(res.status).toBe(200);
    const body = await res.text();
    const events = body.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toMatch(/^data: \{"error":\{.*"code":"upstream_timeout"/);
    expect(body).not.toContain('[DONE]');
    expect(body).toContain('"content":"teac"'); // the chunks sent before the stall reached the client
  });

  it('the breaker counts stalls: after two, the circuit is open and the next call fails at once', async () => {
    for (const prompt of ['stall-headers g', 'stall-mid h']) {
      const r = await timed((): Promise<unknown> => (prompt.startsWith('stall-mid') ? streamAll('counted', prompt) : ask('counted', prompt)));
      expect(r.error).toMatchObject({ code: 'upstream_timeout' });
    }
    const before = h.teacher.requests.length;
    const r = await timed(() => ask('counted', 'stall-headers i'));
    expect(r.error).toMatchObject({ status: 503, code: 'circuit_open' });
    expect(r.ms).toBeLessThan(2_000);
    expect(h.teacher.requests.length).toBe(before); // no call reached the stalled teacher
  });

  it('no stalled upstream connection is left open', async () => {
    await expect.poll(() => h.teacher.stalledOpen(), { timeout: 10_000 }).toBe(0);
  });
});
