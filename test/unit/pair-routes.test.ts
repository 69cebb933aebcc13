import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { pairAgreement } from '../../src/core/pairs/pair-agreement.js';
import { DEFAULT_PRICING } from '../../src/core/eval/pricing.js';
import { createTaskCatalog } from '../../src/core/tasks/task-catalog.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import type { AppEnv } from '../../src/http/create-app.js';
import { toOpenAIError } from '../../src/http/error-mapping.js';
import { createPairRoutes } from '../../src/http/pair-routes.js';
import { createReportApiRoutes } from '../../src/http/report-routes.js';
import { generatePairs } from '../integration/eval-seed-pairs.js';

// The pair browser API over a real SQLite store: filters, cursor paging that visits every match
// once, tenant scoping (a tenant key never reads another tenant's pair), and feedback whose gold
// label the online report counts for accuracy.

const INTENTS = ['balance', 'transfer', 'card_lost', 'pin_change', 'bill_pay', 'freeze_account', 'direct_deposit', 'oos'];
const tasks = createTaskCatalog([
  taskSchema.parse({ name: 'bank-intents', teacher: 'x', classification: { labels: INTENTS } }),
  taskSchema.parse({ name: 'support-chat', teacher: 'x' }),
]);
const pairs = generatePairs({ count: 600, seed: 5, tenants: ['acme', 'globex'] });
const now = Date.parse('2026-11-08T00:00:00.000Z');
let store: SqlitePairStore;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (res: Response): Promise<any> => res.json();

function appAs(tenant: string, scanBudget?: number) {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => {
    const { status, body } = toOpenAIError(err);
    return c.json(body, status);
  });
  app.use('*', async (c, next) => {
    c.set('tenant', tenant);
    c.set('principal', { keyId: `key-${tenant}`, tenant, scopes: new Set(['admin']) } as never);
    await next();
  });
  app.route('/admin/pairs', createPairRoutes({ pairStore: store, tasks, clock: { now: () => now }, ...(scanBudget ? { scanBudget } : {}) }));
  app.route('/admin/reports', createReportApiRoutes({ pairStore: store, tasks, pricing: DEFAULT_PRICING, clock: { now: () => now } }));
  return app;
}

beforeAll(async () => {
  store = new SqlitePairStore({ path: ':memory:' });
  await store.upsertMany(pairs);
});
afterAll(async () => store.close());

describe('GET /admin/pairs', () => {
  it('filters to disagreements and pages with a cursor, visiting each match exactly once', async () => {
    const expected = pairs
      .filter((p) => p.task === 'bank-intents' && pairAgreement(p, tasks.get('bank-intents')) === 'disagree')
      .map((p) => p.id);
    expect(expected.length).toBeGreaterThan(10);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const qs = new URLSearchParams({ task: 'bank-intents', verdict: 'disagree', limit: '7', ...(cursor ? { cursor } : {}) });
      const res = await appAs('*', 120).request(`/admin/pairs?${qs}`);
      expect(res.status).toBe(200);
      const body = await json(res);
      for (const row of body.data) {
        expect(row.verdict).toBe('disagree');
        expect(row.teacher.answer).not.toBe(row.student.answer);
      }
      seen.push(...body.data.map((r: { id: string }) => r.id));
      cursor = body.next_cursor;
      expect(body.has_more).toBe(cursor !== null);
      pages++;
    } while (cursor && pages < 500);
    expect(seen).toEqual(expected);
  });

  it('filters by arm, reason, model and time, across tasks without a task filter', async () => {
    const since = '2026-11-03T00:00:00.000Z';
    const until = '2026-11-04T00:00:00.000Z';
    const body = await json(await appAs('*').request(`/admin/pairs?arm=student&reason=AB:STU&since=${since}&until=${until}&limit=200`));
    const expected = pairs.filter((p) => p.servedArm === 'student' && p.createdAt >= since && p.createdAt < until);
    expect(body.data.length).toBe(Math.min(200, expected.length));
    expect(new Set(body.data.map((r: { task: string }) => r.task))).toEqual(new Set(['bank-intents', 'support-chat']));
    const byModel = await json(await appAs('*').request('/admin/pairs?model=bank-intents@3&limit=5'));
    expect(byModel.data.every((r: { student: { model: string } }) => r.student.model === 'bank-intents@3')).toBe(true);
  });

  it('scopes a tenant key to its own pairs; the operator may pick a tenant', async () => {
    const own = await json(await appAs('globex').request('/admin/pairs?limit=200'));
    expect(own.data.length).toBeGreaterThan(0);
    expect(own.data.every((r: { tenant: string }) => r.tenant === 'globex')).toBe(true);
    expect((await appAs('globex').request('/admin/pairs?tenant=acme')).status).toBe(403);
    const picked = await json(await appAs('*').request('/admin/pairs?tenant=acme&limit=50'));
    expect(picked.data.every((r: { tenant: string }) => r.tenant === 'acme')).toBe(true);
  });

  it('refuses bad filters and cursors with 400 naming the parameter', async () => {
    const verdict = await appAs('*').request('/admin/pairs?verdict=maybe');
    expect(verdict.status).toBe(400);
    expect((await json(verdict)).error.param).toBe('verdict');
    const cursor = await appAs('*').request('/admin/pairs?cursor=bm9wZQ');
    expect(cursor.status).toBe(400);
    expect((await json(cursor)).error.param).toBe('cursor');
    expect((await appAs('*').request('/admin/pairs?task=nope')).status).toBe(404);
  });
});

describe('GET /admin/pairs/{id} and feedback', () => {
  const acmePair = pairs.find((p) => p.tenant === 'acme' && p.task === 'bank-intents' && p.teacher && p.student)!;

  it('returns the whole pair to its tenant and to the operator; another tenant gets 404', async () => {
    const res = await appAs('acme').request(`/admin/pairs/${acmePair.id}?task=bank-intents`);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.request.messages).toEqual(acmePair.request.messages);
    expect(body.teacher.text).toBe(acmePair.teacher!.text);
    expect(body.student.text).toBe(acmePair.student!.text);
    expect((await appAs('*').request(`/admin/pairs/${acmePair.id}?task=bank-intents&tenant=acme`)).status).toBe(200);
    expect((await appAs('*').request(`/admin/pairs/${acmePair.id}?task=bank-intents`)).status).toBe(400);
    expect((await appAs('globex').request(`/admin/pairs/${acmePair.id}?task=bank-intents`)).status).toBe(404);
    expect((await appAs('globex').request(`/admin/pairs/${acmePair.id}?task=bank-intents&tenant=acme`)).status).toBe(404);
  });

  it('stores a gold label that the online report then counts for accuracy', async () => {
    // Traffic pairs without a dataset reference: only feedback can give them a gold label.
    const unlabelled = pairs.filter((p) => p.task === 'bank-intents' && p.source.reference === undefined && p.teacher && !p.teacher.error && p.student && !p.student.error && p.servedArm === 'student').slice(0, 5);
    const report = async () => (await json(await appAs('*').request('/admin/reports/online?task=bank-intents'))).tasks[0];
    const before = await report();
    for (const p of unlabelled) {
      const res = await appAs('*').request(`/admin/pairs/${p.id}/feedback?task=bank-intents&tenant=${p.tenant}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ gold: p.labels!.teacher, thumbs: 'up', score: 0.9 }),
      });
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body.feedback).toMatchObject({ gold: p.labels!.teacher, thumbs: 'up', score: 0.9, by: 'key-*', at: new Date(now).toISOString() });
    }
    const after = await report();
    expect(after.reference.servedPairs).toBe(before.reference.servedPairs + unlabelled.length);
    const stored = await store.get('bank-intents', unlabelled[0]!.tenant, unlabelled[0]!.id);
    expect(stored!.feedback!.gold).toBe(unlabelled[0]!.labels!.teacher);
    const reviewed = await json(await appAs('*').request('/admin/pairs?task=bank-intents&feedback=true&limit=200'));
    expect(reviewed.data.map((r: { id: string }) => r.id).sort()).toEqual(unlabelled.map((p) => p.id).sort());
  });

  it('refuses feedback without a field, with an unknown field or label, and on a missing pair', async () => {
    const post = (body: unknown, id = acmePair.id) =>
      appAs('acme').request(`/admin/pairs/${id}/feedback?task=bank-intents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({})).status).toBe(400);
    expect((await post({ thumbs: 'sideways' })).status).toBe(400);
    expect((await post({ gold: 'balance', extra: 1 })).status).toBe(400);
    const label = await post({ gold: 'not-a-label' });
    expect(label.status).toBe(400);
    expect((await json(label)).error.param).toBe('gold');
    expect((await post({ thumbs: 'down' }, 'missing-id')).status).toBe(404);
  });
});
