import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { ApiKeyAuthenticator } from '../../src/http/api-key-auth.js';
import { allPairs, KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// Tenant isolation, scopes, rate limits, key handling, CORS and logs, through the HTTP API.

const RATE_KEY = 'dk-rate-limited';
const ADMIN_B = 'dk-admin-tenant-b';
const SECRET = 'my password is hunter2-zebra';
let h: Harness;
const logged: string[] = [];

beforeAll(async () => {
  for (const m of ['log', 'info', 'warn', 'error'] as const) vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void logged.push(a.map(String).join(' ')));
  h = await startHarness({
    tasks: [{ name: 'sec', teacher: 'teacher', distill: { threshold: null } }],
    env: {
      DISTILLERY_API_KEYS: JSON.stringify([
        { tenant: 'tenant-a', scopes: ['chat'], sha256: hashApiKey(KEYS.chatA) },
        { tenant: 'tenant-b', scopes: ['chat'], sha256: hashApiKey(KEYS.chatB) },
        { tenant: 'tenant-a', scopes: ['admin'], sha256: hashApiKey(KEYS.admin) },
        { tenant: 'tenant-b', scopes: ['admin'], sha256: hashApiKey(ADMIN_B) },
        { tenant: 'tenant-r', scopes: ['chat'], sha256: hashApiKey(RATE_KEY), ratePerSecond: 2 },
      ]),
    },
    compose: { log: (m) => console.log(m) },
  });
});
afterAll(async () => {
  await h.close();
  vi.restoreAllMocks();
});

const call = (key: string, path: string, init: RequestInit = {}) =>
  h.distillery.app.request(path, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
const chat = (key: string, content: string) => call(key, '/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'sec', messages: [{ role: 'user', content }] }) });

describe('tenant isolation', () => {
  it('pairs are stored under the caller tenant and reports show only that tenant', async () => {
    expect((await chat(KEYS.chatA, 'tenant a question')).status).toBe(200);
    expect((await chat(KEYS.chatB, 'tenant b question')).status).toBe(200);
    const pairs = await allPairs(h.distillery, 'sec');
    expect(pairs.map((p) => p.tenant).sort()).toEqual(['tenant-a', 'tenant-b']);
    const reportA = (await (await call(KEYS.admin, '/admin/reports/online?task=sec')).json()) as { tasks: { requests: number }[] };
    const reportB = (await (await call(ADMIN_B, '/admin/reports/online?task=sec')).json()) as { tasks: { requests: number }[] };
    expect(reportA.tasks[0]!.requests).toBe(1);
    expect(reportB.tasks[0]!.requests).toBe(1);
  });
  it("a tenant's admin key cannot see another tenant's jobs", async () => {
    const created = await call(KEYS.admin, '/admin/tasks/sec/distill', { method: 'POST' });
    expect(created.status).toBe(201);
    const { job } = (await created.json()) as { job: { id: string } };
    expect((await call(KEYS.admin, `/admin/jobs/${job.id}`)).status).toBe(200);
    expect((await call(ADMIN_B, `/admin/jobs/${job.id}`)).status).toBe(404);
    const listB = (await (await call(ADMIN_B, '/admin/jobs')).json()) as { data: unknown[] };
    expect(listB.data).toEqual([]);
    expect((await call(ADMIN_B, `/admin/jobs/${job.id}/dataset/manifest.json`)).status).toBe(404);
  });
  it('chat keys cannot reach the admin API; tenant admins cannot change shared models', async () => {
    expect((await call(KEYS.chatA, '/admin/jobs')).status).toBe(403);
    expect((await call(KEYS.chatA, '/admin/reports/online')).status).toBe(403);
    const rollback = await call(KEYS.admin, '/admin/tasks/sec/rollback', { method: 'POST' });
    expect(rollback.status).toBe(403);
  });
});

describe('rate limits', () => {
  it('a key over its token bucket gets 429 with retry-after, in the OpenAI shape', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await chat(RATE_KEY, `burst ${i}`);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]); // burst of 2 s at 2/s
    expect(statuses).toContain(429);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await limited!.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    // Other keys are not affected.
    expect((await chat(KEYS.chatA, 'unaffected')).status).toBe(200);
  });
});

describe('keys', () => {
  it('are kept only as SHA-256 digests and compared with timingSafeEqual against every stored digest', () => {
    const auth = new ApiKeyAuthenticator([{ tenant: 't', scopes: ['chat'], sha256: hashApiKey('dk-x') }]);
    expect(auth.verify('dk-x')?.tenant).toBe('t');
    expect(auth.verify('dk-y')).toBeUndefined();
    expect(auth.verify('')).toBeUndefined();
    const source = readFileSync(new URL('../../src/http/api-key-auth.ts', import.meta.url), 'utf8');
    const verify = source.slice(source.indexOf('verify(presentedKey'), source.indexOf('/** The key from'));
    expect(verify).toMatch(/timingSafeEqual\(entry\.digest, digest\)/);
    // No early exit: the loop visits every digest whatever matched.
    expect(verify).not.toMatch(/return found|break/);
    expect(JSON.stringify(h.distillery.config.apiKeys)).not.toContain(KEYS.chatA);
  });
});

describe('edges', () => {
  it('CORS is closed by default', async () => {
    const res = await h.distillery.app.request('/v1/chat/completions', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
  it('the composed app serves the dashboard and its assets publicly, the report data only to admin keys', async () => {
    for (const path of ['/dashboard', '/assets/dashboard.js', '/assets/chart.umd.js']) {
      expect((await h.distillery.app.request(path)).status, path).toBe(200);
    }
    expect((await h.distillery.app.request('/admin/reports/online?format=json')).status).toBe(401);
    expect((await call(KEYS.admin, '/admin/reports/online?format=json')).status).toBe(200);
  });
  it('the dashboard carries security headers', async () => {
    const res = await h.distillery.app.request('/dashboard');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'|script-src 'self'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
  it('prompt text and keys never reach the application logs, even on failures', async () => {
    await chat(KEYS.chatA, SECRET);
    await call(KEYS.chatA, '/v1/chat/completions', { method: 'POST', body: `{"model":"sec","messages":[{"role":"user","content":"${SECRET}"}`});
    await h.distillery.pairWriter.flush();
    const all = logged.join('\n');
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain(KEYS.chatA);
  });
  it('an unexpected error is a generic 500 without internals', async () => {
    const broken = await startHarness({ tasks: [{ name: 'x', teacher: 'teacher' }] });
    // A model resolver that throws a plain Error stands for a bug.
    (broken.distillery.models as { teacher: unknown }).teacher = () => {
      throw new Error('secret internal detail /etc/passwd');
    };
    const res = await broken.distillery.app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await broken.close();
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toContain('passwd');
    expect(JSON.parse(body).error.code).toBe('internal_error');
  });
});
