import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { allPairs, KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import type { Fault } from '../fixtures/fake-openai-server.js';

// Upstream faults injected by the fake teacher (a real HTTP server), keyed by the prompt text:
// every case ends in a correct answer (retry or fallback) or a correct OpenAI error — never a hang.

let h: Harness;
let server: RunningServer;
let client: OpenAI;
const seen = new Map<string, number>();

function faultFor(prompt: string): Fault | Fault[] | undefined {
  const n = (seen.get(prompt) ?? 0) + 1;
  seen.set(prompt, n);
  if (prompt.startsWith('500')) return { kind: 'status', status: 500, message: 'teacher internal error' };
  if (prompt.startsWith('429-once')) return n === 1 ? { kind: 'status', status: 429, retryAfter: '1', message: 'slow down' } : undefined;
  if (prompt.startsWith('429-always')) return { kind: 'status', status: 429, retryAfter: '0', message: 'quota exceeded' };
  if (prompt.startsWith('503-once')) return n === 1 ? { kind: 'status', status: 503 } : undefined;
  if (prompt.startsWith('hang')) return { kind: 'hang' };
  if (prompt.startsWith('reset')) return { kind: 'reset' };
  if (prompt.startsWith('malformed')) return { kind: 'malformed-json' };
  if (prompt.startsWith('cut')) return { kind: 'cut-stream', afterChunks: 2 };
  return undefined;
}

beforeAll(async () => {
  h = await startHarness({
    teacher: {
      answer: (req) => ({ text: `teacher answer to ${req.body.messages.at(-1).content}` }),
      fault: (req) => faultFor(String(req.body.messages?.at(-1)?.content ?? '')),
    },
    student: { answer: () => ({ text: 'student answer' }) },
    // The retrying teacher: the SDK retries 408/409/429/5xx and honours retry-after.
    // The circuit breaker has its own test below; here it must stay closed.
    teacherSettings: { maxRetries: 2, timeoutInMs: 800, circuitBreaker: { failureThreshold: 1000 } },
    tasks: [
      { name: 'no-fallback', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' }, fallback: false, timeoutInMs: 800 } },
      { name: 'with-fallback', teacher: 'teacher', student: { source: 'model', model: 'student' }, routing: { policy: { type: 'pinned', arm: 'teacher' }, timeoutInMs: 800 } },
    ],
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEYS.chatA, maxRetries: 0, timeout: 10_000 });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await h?.close();
});

const ask = (model: string, content: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content }] }).withResponse();

describe('upstream faults', () => {
  it('5xx without fallback → 502 with the upstream status (not its words); with fallback → the student answers', async () => {
    await expect(ask('no-fallback', '500 a')).rejects.toMatchObject({ status: 502, message: expect.stringMatching(/failed \(HTTP 500\)/) });
    const { data, response } = await ask('with-fallback', '500 b');
    expect(data.choices[0]!.message.content).toBe('student answer');
    expect(response.headers.get('x-distillery-arm')).toBe('student');
    expect(response.headers.get('x-distillery-reason')).toMatch(/fallback to student/);
  });

  it('429 with retry-after is retried after the advertised delay, then succeeds', async () => {
    const t0 = Date.now();
    const { data } = await ask('no-fallback', '429-once');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(data.choices[0]!.message.content).toBe('teacher answer to 429-once');
    expect(seen.get('429-once')).toBe(2);
  });

  it('persistent 429 → 502 carrying the upstream status after the retries', async () => {
    await expect(ask('no-fallback', '429-always')).rejects.toMatchObject({ status: 502, message: expect.stringMatching(/failed \(HTTP 429\)/) });
    expect(seen.get('429-always')).toBe(3);
  });

  it('a transient 503 is retried transparently', async () => {
    const { data } = await ask('no-fallback', '503-once');
    expect(data.choices[0]!.message.content).toBe('teacher answer to 503-once');
  });

  it('a hanging teacher → 504 within the budget; with fallback → the student', async () => {
    const t0 = Date.now();
    await expect(ask('no-fallback', 'hang a')).rejects.toMatchObject({ status: 504 });
    // three attempts of 800 ms at most, plus backoff
    expect(Date.now() - t0).toBeLessThan(6_000);
    const { data } = await ask('with-fallback', 'hang b');
    expect(data.choices[0]!.message.content).toBe('student answer');
  });

  it('connection resets and malformed JSON → 502, or the fallback arm', async () => {
    await expect(ask('no-fallback', 'reset a')).rejects.toMatchObject({ status: 502 });
    await expect(ask('no-fallback', 'malformed a')).rejects.toMatchObject({ status: 502 });
    expect((await ask('with-fallback', 'reset b')).data.choices[0]!.message.content).toBe('student answer');
    expect((await ask('with-fallback', 'malformed b')).data.choices[0]!.message.content).toBe('student answer');
  });

  it('an SSE stream cut mid-way ends the client stream with an error event, not a hang', async () => {
    const stream = await client.chat.completions.create({ model: 'no-fallback', messages: [{ role: 'user', content: 'cut here please' }], stream: true });
    let text = '';
    await expect(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow(/The upstream model 'teacher' failed/);
    expect(text.length).toBeGreaterThan(0);
    // Raw SSE: an error object and no [DONE].
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'no-fallback', messages: [{ role: 'user', content: 'cut again' }], stream: true }),
    });
    const body = await res.text();
    expect(body).toMatch(/data: \{"error":\{"message":"The upstream model 'teacher' failed/);
    expect(body).not.toContain('[DONE]');
  });

  it('a dead teacher opens its circuit: later requests fail fast or fall back at once', async () => {
    const dead = await startHarness({
      teacher: { fault: () => ({ kind: 'status', status: 500 }) },
      teacherSettings: { circuitBreaker: { failureThreshold: 3, cooldownInMs: 60_000 } },
      tasks: [
        { name: 'no-fallback', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' }, fallback: false } },
        { name: 'with-fallback', teacher: 'teacher', student: { source: 'model', model: 'student' }, routing: { policy: { type: 'pinned', arm: 'teacher' } } },
      ],
    });
    try {
      const post = (model: string) =>
        dead.distillery.app.request('/v1/chat/completions', {
          method: 'POST',
          headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] }),
        });
      for (let i = 0; i < 3; i++) expect((await post('no-fallback')).status).toBe(502);
      const calls = dead.teacher.requests.length;
      const open = await post('no-fallback');
      expect(open.status).toBe(503);
      expect(open.headers.get('retry-after')).toBe('60');
      expect(((await open.json()) as { error: { code: string } }).error.code).toBe('circuit_open');
      const fb = await post('with-fallback');
      expect(fb.status).toBe(200);
      expect(fb.headers.get('x-distillery-arm')).toBe('student');
      expect(dead.teacher.requests.length).toBe(calls); // the open circuit sent nothing upstream
    } finally {
      await dead.close();
    }
  });

  it('failed requests are logged with their errors; the successful ones with their answers', async () => {
    const pairs = await allPairs(h.distillery, 'with-fallback');
    const fallbacks = pairs.filter((p) => p.reason.includes('fallback'));
    expect(fallbacks.length).toBeGreaterThanOrEqual(4);
    for (const p of fallbacks) {
      expect(p.teacher?.role).toBe('fallback_failed');
      expect(p.teacher?.error?.status).toBeGreaterThanOrEqual(500);
      expect(p.student).toMatchObject({ role: 'served', text: 'student answer' });
    }
  });
});
