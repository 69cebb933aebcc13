import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/http/listen.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// A stalled teacher (headers sent, then silence) and far more concurrent requests than the cap.
// Before admission control every request waited on the teacher: in flight, sockets and memory grew
// without bound and nobody was refused. Now the cap holds, the excess gets 503 + retry-after at
// once (OpenAI error shape), refusals are logged with their count, and memory stays bounded.

const CAP = 20;
const UPSTREAM_CAP = 4;
const REQUESTS = 300;

let h: Harness;
let server: RunningServer;
const logs: string[] = [];

beforeAll(async () => {
  h = await startHarness({
    teacher: { fault: () => ({ kind: 'stall-after-headers' }) },
    // Long idle time-out: the admitted requests must stay in flight for the whole burst.
    teacherSettings: { idleTimeoutInMs: 120_000, circuitBreaker: { failureThreshold: 1000 } },
    models: ({ teacher }) => ({
      'capped-teacher': { provider: 'openai', baseURL: teacher.baseURL, model: 'gpt-4o', auth: 'none', maxRetries: 0, maxInFlight: UPSTREAM_CAP, idleTimeoutInMs: 120_000 },
      'slow-teacher': { provider: 'openai', baseURL: teacher.baseURL, model: 'gpt-4o', auth: 'none', maxRetries: 0, idleTimeoutInMs: 120_000, circuitBreaker: { failureThreshold: 3, cooldownInMs: 60_000, slowCallInMs: 300 } },
    }),
    tasks: [
      { name: 'stalled', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' }, fallback: false } },
      { name: 'capped', teacher: 'capped-teacher', routing: { policy: { type: 'pinned', arm: 'teacher' }, fallback: false } },
      { name: 'slow', teacher: 'slow-teacher', routing: { policy: { type: 'pinned', arm: 'teacher' }, fallback: false } },
    ],
    env: { DISTILLERY_MAX_IN_FLIGHT: String(CAP) },
    compose: { log: (line) => logs.push(line) },
  });
  server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await h?.close();
});

function post(model: string, signal?: AbortSignal, stream = false) {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], stream }),
    ...(signal ? { signal } : {}),
  });
}

describe('admission control with a stalled teacher', () => {
  it('never lets more than the cap in flight; the excess gets 503 + retry-after at once; memory stays bounded', async () => {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const stuck = new AbortController();
    const requestsBefore = h.teacher.requests.length;
    const settled: { status: number; ms: number; retryAfter: string | null; body: any }[] = [];
    const t0 = performance.now();
    // Half streamed, half not: a stream holds its slot until its body ends.
    const all = Array.from({ length: REQUESTS }, (_, i) =>
      post('stalled', stuck.signal, i % 2 === 0).then(
        async (res) => {
          if (res.status === 200) return; // admitted: headers of a stream may come before the stall
          settled.push({ status: res.status, ms: performance.now() - t0, retryAfter: res.headers.get('retry-after'), body: await res.json() });
        },
        () => undefined,
      ),
    );
    // Every request beyond the cap is answered while the admitted ones still wait on the teacher.
    await expect.poll(() => settled.length, { timeout: 30_000, interval: 50 }).toBe(REQUESTS - CAP);
    await expect.poll(() => h.teacher.requests.length - requestsBefore, { timeout: 10_000 }).toBe(CAP);
    expect(h.teacher.stalledOpen()).toBeLessThanOrEqual(CAP);
    for (const r of settled) {
      expect(r.status).toBe(503);
      expect(r.retryAfter).toBe('1');
      expect(r.body).toEqual({ error: { message: expect.stringMatching(/requests in flight/), type: 'server_error', param: null, code: 'server_overloaded' } });
    }
    // "At once": the slowest refusal came long before any time-out could have fired.
    expect(Math.max(...settled.map((r) => r.ms))).toBeLessThan(20_000);
    expect(logs.some((l) => /admission: refused a chat request with 503 \(20 in flight, cap 20; \d+ refused so far\)/.test(l))).toBe(true);
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    expect(rssGrowthMb).toBeLessThan(150);

    // The clients leave: their slots come back and new requests are admitted again.
    stuck.abort();
    await Promise.all(all);
    await expect.poll(() => h.teacher.stalledOpen(), { timeout: 10_000 }).toBe(0);
    const again = new AbortController();
    const next = post('stalled', again.signal).catch(() => undefined);
    await expect.poll(() => h.teacher.requests.length - requestsBefore, { timeout: 10_000 }).toBe(CAP + 1);
    again.abort();
    await next;
  });

  it('caps the calls in flight to one upstream model: beyond it 503 upstream_busy, no call made', async () => {
    const stuck = new AbortController();
    const before = h.teacher.requests.length;
    const held = Array.from({ length: UPSTREAM_CAP }, () => post('capped', stuck.signal).catch(() => undefined));
    await expect.poll(() => h.teacher.requests.length - before, { timeout: 10_000 }).toBe(UPSTREAM_CAP);
    const res = await post('capped');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code: 'upstream_busy', type: 'upstream_error' });
    expect(h.teacher.requests.length - before).toBe(UPSTREAM_CAP);
    stuck.abort();
    await Promise.all(held);
  });

  it('opens the circuit within the slow-call threshold of a stall, not after the time-outs', async () => {
    const stuck = new AbortController();
    const t0 = performance.now();
    const held = Array.from({ length: 3 }, () => post('slow', stuck.signal).catch(() => undefined));
    let open: Response | undefined;
    await expect
      .poll(
        async () => {
          // A probe that gets through waits on the stalled teacher too: it gives up after a second.
          const res = await post('slow', AbortSignal.any([stuck.signal, AbortSignal.timeout(1_000)])).catch(() => undefined);
          if (res?.status === 503) open = res;
          return res?.status;
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBe(503);
    expect(((await open!.json()) as { error: { code: string } }).error.code).toBe('circuit_open');
    expect(performance.now() - t0).toBeLessThan(10_000); // the idle time-out is 120 s
    stuck.abort();
    await Promise.all(held);
  });
});
