import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDistillery } from '../../src/compose/index.js';
import { loadOrCreateOperatorKey, OPERATOR_KEY_FILE } from '../../src/compose/operator-key.js';
import { loadConfig } from '../../src/config.js';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { allPairs, KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// Key management end to end on the embedded stores: the operator creates a key (answered once),
// lists it (never the key or its digest), the key chats, its pairs carry its id, its usage and
// spend are derived from them, and revoking it makes it answer 401. A tenant's admin key may not
// manage keys. The standalone operator key survives a restart (issue #20: it used to be
// regenerated on every start, and the old one answered 401).

const OPERATOR = 'dk-test-operator';
let h: Harness;
const logs: string[] = [];

beforeAll(async () => {
  h = await startHarness({
    env: {
      DISTILLERY_API_KEYS: JSON.stringify([
        { tenant: 'tenant-a', scopes: ['chat'], sha256: hashApiKey(KEYS.chatA) },
        { tenant: 'tenant-a', scopes: ['admin'], sha256: hashApiKey(KEYS.admin) },
        { tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(OPERATOR) },
      ]),
    },
    compose: { log: (line) => logs.push(line) },
  });
}, 30_000);

afterAll(async () => {
  await h?.close();
});

const call = (method: string, url: string, key: string, body?: unknown) =>
  h.distillery.app.request(url, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

const chat = (key: string) => call('POST', '/v1/chat/completions', key, { model: 'teacher-only', messages: [{ role: 'user', content: 'hello' }] });

describe('POST/GET/DELETE /admin/keys', () => {
  it('creates a key shown once, lists it without the key, meters its use and revokes it', async () => {
    const created = await call('POST', '/admin/keys', OPERATOR, { tenant: 'tenant-b', scopes: ['chat'], name: 'ci' });
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; key: string; tenant: string; scopes: string[]; created_at: string };
    expect(key.key).toMatch(/^dk-/);
    expect(key).toMatchObject({ tenant: 'tenant-b', scopes: ['chat'], name: 'ci' });

    for (let i = 0; i < 3; i++) expect((await chat(key.key)).status).toBe(200);
    const pairs = (await allPairs(h.distillery, 'teacher-only')).filter((p) => p.keyId === key.id);
    expect(pairs).toHaveLength(3);
    expect(pairs.every((p) => p.tenant === 'tenant-b')).toBe(true);

    const listed = await call('GET', '/admin/keys', OPERATOR);
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).not.toContain(key.key);
    expect(text).not.toContain(hashApiKey(key.key));
    const entry = (JSON.parse(text) as { data: { id: string; last_used_at: string | null }[] }).data.find((k) => k.id === key.id);
    expect(entry?.last_used_at).toEqual(expect.any(String));

    const usage = (await (await call('GET', `/admin/keys/${key.id}/usage`, OPERATOR)).json()) as {
      requests: number;
      cost_usd: number;
      unpriced_calls: number;
      by_task: Record<string, { requests: number }>;
    };
    expect(usage.requests).toBe(3);
    expect(usage.by_task['teacher-only']?.requests).toBe(3);
    const spend = pairs.reduce((s, p) => s + (p.teacher?.costUsd ?? 0), 0);
    expect(usage.cost_usd).toBeCloseTo(spend, 6);
    expect(usage.unpriced_calls).toBe(pairs.filter((p) => p.teacher?.costUsd === undefined).length);

    const revoked = await call('DELETE', `/admin/keys/${key.id}`, OPERATOR);
    expect(revoked.status).toBe(200);
    expect((await chat(key.key)).status).toBe(401);
    expect((await call('DELETE', `/admin/keys/${key.id}`, OPERATOR)).status).toBe(404);
  });

  it("refuses a tenant's admin key (403), malformed bodies (400) and unknown fields", async () => {
    expect((await call('GET', '/admin/keys', KEYS.admin)).status).toBe(403);
    expect((await call('POST', '/admin/keys', KEYS.admin, { tenant: 'tenant-a' })).status).toBe(403);
    const malformed = await call('POST', '/admin/keys', OPERATOR, '{"__probe":');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    expect((await call('POST', '/admin/keys', OPERATOR, { tenant: 'x', scopes: ['root'] })).status).toBe(400);
    expect((await call('POST', '/admin/keys', OPERATOR, { tenant: 'x', extra: 1 })).status).toBe(400);
    expect((await call('POST', '/admin/keys', OPERATOR, {})).status).toBe(400);
  });

  it('writes one access log line per request, without prompt text', async () => {
    const marker = 'secret-prompt-text-4711';
    const res = await call('POST', '/v1/chat/completions', KEYS.chatA, { model: 'teacher-only', messages: [{ role: 'user', content: marker }] });
    const requestId = res.headers.get('x-request-id');
    const line = logs.find((l) => l.startsWith('access ') && l.includes(requestId!));
    expect(line).toBeDefined();
    const fields = JSON.parse(line!.slice('access '.length));
    expect(fields).toMatchObject({ method: 'POST', path: '/v1/chat/completions', route: '/v1/chat/completions', status: 200, task: 'teacher-only', arm: 'teacher', tenant: 'tenant-a', request_id: requestId });
    expect(fields.duration_ms).toEqual(expect.any(Number));
    expect(logs.join('\n')).not.toContain(marker);
  });
});

describe('the standalone operator key', () => {
  it('is kept as a hash and still works after a restart; rotating retires it', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'distillery-opkey-'));
    try {
      const env = { DISTILLERY_DATA_DIR: dataDir, DISTILLERY_WORKER: 'false' };
      const start = (extra: Record<string, string> = {}) => createDistillery(loadConfig({ ...env, ...extra }), { generateKeyIfNone: true });
      const first = await start();
      const key = first.generatedKeys[0]?.key;
      expect(key).toMatch(/^dk-/);
      await first.close();
      const stored = readFileSync(path.join(dataDir, OPERATOR_KEY_FILE), 'utf8');
      expect(stored).not.toContain(key!);
      expect(stored).toContain(hashApiKey(key!));

      const second = await start();
      expect(second.generatedKeys[0]?.key).toBeUndefined();
      const models = await second.app.request('/v1/models', { headers: { authorization: `Bearer ${key}` } });
      expect(models.status).toBe(200);
      await second.close();

      const rotated = await start({ DISTILLERY_ROTATE_OPERATOR_KEY: 'true' });
      const newKey = rotated.generatedKeys[0]?.key;
      expect(newKey).toMatch(/^dk-/);
      expect((await rotated.app.request('/v1/models', { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
      expect((await rotated.app.request('/v1/models', { headers: { authorization: `Bearer ${newKey}` } })).status).toBe(200);
      await rotated.close();
      expect(loadOrCreateOperatorKey(dataDir).key).toBeUndefined();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
