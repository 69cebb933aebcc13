import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/http/listen.js';
import { allPairs, KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// Issue #14, row 11, through the composed app: upstream error text stays in the (redacted) log,
// a client's x-request-id is echoed but never becomes a storage key, failed-auth floods are
// throttled per source, and unexpected 500s are logged with their stack.

const LEAKY = 'Incorrect API key provided: sk-live-ABCDEF0123456789abcdef. See /srv/distillery/secrets/teacher.env for details';
let h: Harness;
const logged: string[] = [];

beforeAll(async () => {
  h = await startHarness({
    teacher: {
      fault: (req) => {
        const text = req.body.messages?.at(-1)?.content;
        if (text === 'leak-401') return { kind: 'status', status: 401, message: LEAKY };
        if (text === 'leak-500') return { kind: 'status', status: 500, message: LEAKY };
        return undefined;
      },
    },
    tasks: [{ name: 'hyg', teacher: 'teacher', routing: { policy: { type: 'pinned', arm: 'teacher' }, fallback: false }, distill: { threshold: null } }],
    compose: { log: (m) => logged.push(m) },
  });
});
afterAll(() => h.close());

const chat = (content: string, headers: Record<string, string> = {}, key = KEYS.chatA) =>
  h.distillery.app.request('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'hyg', messages: [{ role: 'user', content }] }),
  });

describe('upstream error text', () => {
  it('reaches the client only as status, type and a generic message; the log keeps it without the key', async () => {
    for (const prompt of ['leak-401', 'leak-500']) {
      const res = await chat(prompt);
      expect(res.status).toBe(502);
      const body = await res.text();
      expect(body).not.toContain('sk-live');
      expect(body).not.toContain('/srv/');
      expect(body).not.toContain('Incorrect API key');
      const { error } = JSON.parse(body) as { error: { type: string; code: string; message: string } };
      expect(error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' });
      expect(error.message).toMatch(/^The upstream model 'teacher' failed \(HTTP (401|500)\)\.$/);
    }
    const lines = logged.filter((l) => l.includes('Incorrect API key'));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.join('\n')).not.toContain('sk-live-ABCDEF');
    expect(lines[0]).toMatch(/request [0-9a-f]{32}/);
  });
});

describe('x-request-id', () => {
  it('is echoed back but never used as the pair id: a repeated id does not overwrite the earlier pair', async () => {
    const first = await chat('first question', { 'x-request-id': 'client-chosen-id' });
    const second = await chat('second question', { 'x-request-id': 'client-chosen-id' });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(first.headers.get('x-request-id')).toBe('client-chosen-id');
    expect(second.headers.get('x-request-id')).toBe('client-chosen-id');
    const ids = [((await first.json()) as { id: string }).id, ((await second.json()) as { id: string }).id];
    expect(ids[0]).not.toBe(ids[1]);
    const pairs = (await allPairs(h.distillery, 'hyg')).filter((p) => /question/.test(JSON.stringify(p.request.messages)));
    expect(pairs).toHaveLength(2);
    expect(pairs.map((p) => p.id)).not.toContain('client-chosen-id');
  });
  it('without one, the server id is returned', async () => {
    const res = await chat('no id');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('failed-auth floods', () => {
  it('are throttled per source with 429 and retry-after in the OpenAI shape; other sources are unaffected', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.7' };
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 40; i++) {
      const res = await chat('guess', attacker, `dk-guess-${i}`);
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(15);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const { error } = (await limited!.json()) as { error: Record<string, unknown> };
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_failed_auth' });
    expect(logged.some((l) => /failed authentication/.test(l) && l.includes('203.0.113.7'))).toBe(true);
    // Another source: a wrong key is still a plain 401, a right key works.
    expect((await chat('guess', { 'x-forwarded-for': '198.51.100.9' }, 'dk-wrong')).status).toBe(401);
    expect((await chat('legit', { 'x-forwarded-for': '198.51.100.9' })).status).toBe(200);
  });
  it('on a socket, the peer address counts: a rotating X-Forwarded-For does not escape the throttle', async () => {
    const server = await listen(h.distillery.app, { host: '127.0.0.1', port: 0 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer dk-guess-${i}`, 'x-forwarded-for': `192.0.2.${i}` } });
        await res.text();
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses.at(-1)).toBe(429);
    } finally {
      await server.close();
    }
  });
});

describe('unexpected errors', () => {
  it('are a generic 500 for the client and a log line with the stack for the operator', async () => {
    const original = h.distillery.models.teacher;
    (h.distillery.models as { teacher: unknown }).teacher = () => {
      throw new Error('resolver bug near /srv/distillery/models.json');
    };
    try {
      const res = await chat('boom');
      expect(res.status).toBe(500);
      const body = await res.text();
      expect(body).not.toContain('/srv/');
      expect(JSON.parse(body).error.code).toBe('internal_error');
    } finally {
      (h.distillery.models as { teacher: unknown }).teacher = original;
    }
    const line = logged.find((l) => l.includes('resolver bug'));
    expect(line).toBeDefined();
    expect(line).toMatch(/\n\s+at /); // the stack
    expect(line).toMatch(/POST \/v1\/chat\/completions/);
  });
});
