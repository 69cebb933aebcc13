import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020Module from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import { documentedStatuses, openApiDocument, operations } from '../../src/http/openapi.js';
import { allPairs, KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';

// The OpenAPI document is valid OpenAPI 3.1 (checked by an OpenAPI 3.1 schema validator), and
// every documented route, called once on the real app, answers a documented status with a body
// its response schema accepts. The manual trigger refuses a malformed body with 400 and queues
// nothing (it used to queue a job for `{"__probe":`).

const OPERATOR = 'dk-test-operator';
let h: Harness;
const Ajv2020 = (Ajv2020Module as unknown as { default?: typeof Ajv2020Module }).default ?? Ajv2020Module;
const ajv = new (Ajv2020 as unknown as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } })({ strict: false, allErrors: true });

beforeAll(async () => {
  h = await startHarness({
    env: {
      DISTILLERY_API_KEYS: JSON.stringify([
        { tenant: 'tenant-a', scopes: ['chat'], sha256: hashApiKey(KEYS.chatA) },
        { tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(OPERATOR) },
      ]),
    },
  });
}, 30_000);

afterAll(async () => {
  await h?.close();
});

const call = (method: string, url: string, body?: string, key = OPERATOR) =>
  h.distillery.app.request(url, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body }) });

async function jobCount(): Promise<number> {
  let n = 0;
  for await (const _ of h.distillery.jobStore.list()) n++;
  return n;
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(openApiDocument() as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    for (const op of operations) for (const status of Object.keys(op.ok)) expect(status).toMatch(/^2\d\d$/);
  });

  it('the manual trigger refuses a malformed body with 400 and queues nothing', async () => {
    const before = await jobCount();
    for (const body of ['{"__probe":', '[]', '{"unknown":1}', '"x"']) {
      const res = await call('POST', '/admin/tasks/support-chat/distill', body);
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    }
    expect(await jobCount()).toBe(before);
  });
});

describe('every documented route', () => {
  it('answers a documented status with a body its schema accepts', async () => {
    expect((await call('POST', '/v1/chat/completions', JSON.stringify({ model: 'teacher-only', messages: [{ role: 'user', content: 'hi' }] }))).status).toBe(200);
    const pair = (await allPairs(h.distillery, 'teacher-only'))[0]!;
    const created = (await (await call('POST', '/admin/keys', JSON.stringify({ tenant: 'tenant-a' }))).json()) as { id: string };
    const first = await call('POST', '/admin/tasks/support-chat/distill');
    expect(first.status).toBe(201);
    const job = ((await first.json()) as { job: { id: string } }).job;

    const values: Record<string, string> = { id: 'teacher-only', task: 'support-chat', version: '1', file: 'manifest.json' };
    const idFor = (p: string) => (p.startsWith('/admin/jobs') ? job.id : p.startsWith('/admin/pairs') ? pair.id : p.startsWith('/admin/keys') ? created.id : p.startsWith('/admin/distillations') ? job.id : p === '/assets/{file}' ? 'dashboard.js' : 'teacher-only');
    const seen: string[] = [];
    // DELETE last: the key it revokes is the one /usage reads.
    for (const op of [...operations].sort((a, b) => Number(a.method === 'delete') - Number(b.method === 'delete'))) {
      let url = op.path.replace('{id}', idFor(op.path)).replace(/\{(\w+)\}/g, (_m, name: string) => (op.path === '/assets/{file}' ? 'dashboard.js' : values[name]!));
      if (op.path.startsWith('/admin/pairs/')) url += `?task=teacher-only&tenant=${pair.tenant}`;
      const body = op.method === 'post' ? (op.path === '/v1/chat/completions' ? JSON.stringify({ model: 'teacher-only', messages: [{ role: 'user', content: 'hi' }] }) : op.path.endsWith('/feedback') ? JSON.stringify({ thumbs: 'up' }) : op.path === '/admin/keys' ? JSON.stringify({ tenant: 'tenant-b' }) : '{}') : undefined;
      const res = await call(op.method.toUpperCase(), url, body);
      const status = String(res.status);
      const documented = documentedStatuses(op);
      expect(documented.includes(status) || (documented.includes('5XX') && status.startsWith('5')), `${op.method} ${op.path} answered ${status}`).toBe(true);
      expect(status.startsWith('5'), `${op.method} ${op.path} answered ${status}`).toBe(false);
      const ok = op.ok[status];
      if (ok && (ok.type ?? 'application/json') === 'application/json') {
        const validate = ajv.compile(ok.schema);
        const data = await res.json();
        expect(validate(data), `${op.method} ${op.path}: ${JSON.stringify(validate.errors)}`).toBe(true);
      } else if (!ok) {
        const validate = ajv.compile(openApiDocument().components.schemas.Error);
        expect(validate(await res.json()), `${op.method} ${op.path} error body`).toBe(true);
      }
      seen.push(`${op.method} ${op.path} ${status}`);
    }
    expect(seen).toHaveLength(operations.length);
  }, 60_000);
});
