import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// GET /metrics in the Prometheus text format: requests by route, task, arm and status, a latency
// histogram, admission refusals and the pair writer's queue. Readable by the operator key and by a
// metrics-only key, not by a chat key or a tenant's admin key.

const OPERATOR = 'dk-test-operator';
const SCRAPER = 'dk-test-scraper';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    env: {
      DISTILLERY_API_KEYS: JSON.stringify([
        { tenant: 'tenant-a', scopes: ['chat'], sha256: hashApiKey(KEYS.chatA) },
        { tenant: 'tenant-a', scopes: ['admin'], sha256: hashApiKey(KEYS.admin) },
        { tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(OPERATOR) },
        { tenant: 'prometheus', scopes: ['metrics'], sha256: hashApiKey(SCRAPER) },
      ]),
    },
  });
}, 30_000);

afterAll(async () => {
  await h?.close();
});

const get = (url: string, key: string) => h.distillery.app.request(url, { headers: { authorization: `Bearer ${key}` } });

describe('GET /metrics', () => {
  it('counts requests by task, arm and status with a latency histogram and the refusal counters', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await h.distillery.app.request('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${KEYS.chatA}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'teacher-only', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
    }
    expect((await get('/v1/models/nope', KEYS.chatA)).status).toBe(404);
    const res = await get('/metrics', OPERATOR);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    expect(text).toContain('distillery_http_requests_total{method="POST",route="/v1/chat/completions",status="200",task="teacher-only",arm="teacher"} 2');
    expect(text).toContain('distillery_http_requests_total{method="GET",route="/v1/models/:id",status="404",task="",arm=""} 1');
    expect(text).toMatch(/distillery_http_request_duration_seconds_bucket\{route="\/v1\/chat\/completions",task="teacher-only",arm="teacher",le="\+Inf"\} 2/);
    expect(text).toMatch(/distillery_http_request_duration_seconds_count\{route="\/v1\/chat\/completions",task="teacher-only",arm="teacher"\} 2/);
    for (const name of ['distillery_admission_refused_total', 'distillery_pair_writer_queue_depth', 'distillery_pair_records_refused_total']) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
      expect(text).toMatch(new RegExp(`^${name} \\d+$`, 'm'));
    }
    // Every sample line is `name{labels} value` or `name value`: the exposition format.
    for (const line of text.trim().split('\n').filter((l) => !l.startsWith('#'))) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/);
  });

  it('is readable by the operator and a metrics key only', async () => {
    expect((await get('/metrics', SCRAPER)).status).toBe(200);
    expect((await get('/metrics', KEYS.chatA)).status).toBe(403);
    expect((await get('/metrics', KEYS.admin)).status).toBe(403);
    expect((await h.distillery.app.request('/metrics')).status).toBe(401);
    // The metrics key reads nothing else.
    expect((await get('/v1/models', SCRAPER)).status).toBe(403);
    expect((await get('/admin/jobs', SCRAPER)).status).toBe(403);
  });
});
