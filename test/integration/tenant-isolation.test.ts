import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/http/api-key-auth.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import { KEYS, startHarness, type Harness } from '../fixtures/distillery-harness.js';
import { teacherLabelledPair } from '../fixtures/pair-records.js';

// Tenant isolation of distillation data (issue #14 row 9), through the HTTP API on the embedded
// stores: job datasets, spec artifact paths, reports, and the per-task `trainOn` setting.

const ADMIN_B = 'dk-admin-tenant-b';
const OPERATOR = 'dk-operator';
const PER_TENANT = 15;
const WINDOW = 'since=2025-12-31T00:00:00.000Z&until=2026-01-02T00:00:00.000Z';
let h: Harness;

const seed = (task: string, tenant: string): PairRecord[] =>
  Array.from({ length: PER_TENANT }, (_, i) =>
    teacherLabelledPair(i, { task, tenant, idPrefix: `${tenant}-${task}`, text: `secret prompt of ${tenant} number ${i}`, label: `answer ${i} for ${tenant}` }),
  );

beforeAll(async () => {
  const distill = { threshold: null, dataset: { minExamples: 10 } };
  h = await startHarness({
    tasks: [
      // No trainOn: every tenant's pairs, so its datasets are the operator's only.
      { name: 'shared', teacher: 'teacher', distill },
      { name: 'own-only', teacher: 'teacher', distill, trainOn: 'own' },
    ],
    env: {
      DISTILLERY_API_KEYS: JSON.stringify([
        { tenant: 'tenant-a', scopes: ['chat'], sha256: hashApiKey(KEYS.chatA) },
        { tenant: 'tenant-a', scopes: ['admin'], sha256: hashApiKey(KEYS.admin) },
        { tenant: 'tenant-b', scopes: ['admin'], sha256: hashApiKey(ADMIN_B) },
        { tenant: '*', scopes: ['chat', 'admin'], sha256: hashApiKey(OPERATOR) },
      ]),
    },
  });
  for (const task of ['shared', 'own-only']) await h.distillery.pairStore.upsertMany([...seed(task, 'tenant-a'), ...seed(task, 'tenant-b')]);
  await h.distillery.pairStore.flush();
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const call = (key: string, path: string, init: RequestInit = {}) =>
  h.distillery.app.request(path, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
const download = async (key: string, jobId: string) => {
  const res = await call(key, `/admin/jobs/${jobId}/dataset/examples.jsonl`);
  return { status: res.status, text: await res.text() };
};
const tenantsIn = (jsonl: string) => [...new Set([...jsonl.matchAll(/secret prompt of (tenant-[ab])/g)].map((m) => m[1]))].sort();

/** Runs a job in this process until it ends; these tasks have no trainer, so they fail after the dataset. */
async function runToEnd(jobId: string) {
  const job = await h.distillery.runner.run(jobId);
  expect(job?.steps.dataset, JSON.stringify(job?.error)).toBeDefined();
  return job!;
}

describe('job datasets are scoped by tenant', () => {
  it("tenant B cannot download the datasets of the operator's (system-triggered) jobs or of tenant A's jobs", async () => {
    const system = await h.distillery.triggers.request('shared', { type: 'threshold', detail: 'test' });
    await runToEnd(system.job.id);
    expect((await download(ADMIN_B, system.job.id)).status).toBe(404);
    expect((await download(KEYS.admin, system.job.id)).status).toBe(404);
    const listB = (await (await call(ADMIN_B, '/admin/jobs')).json()) as { data: { id: string }[] };
    expect(listB.data.map((j) => j.id)).not.toContain(system.job.id);
    const operator = await download(OPERATOR, system.job.id);
    expect(operator.status).toBe(200);
    expect(tenantsIn(operator.text)).toEqual(['tenant-a', 'tenant-b']);

    const created = await call(KEYS.admin, '/admin/tasks/own-only/distill', { method: 'POST' });
    expect(created.status).toBe(201);
    const jobA = ((await created.json()) as { job: { id: string } }).job.id;
    await runToEnd(jobA);
    const byB = await download(ADMIN_B, jobA);
    expect(byB.status).toBe(404);
    expect(byB.text).not.toContain('secret prompt');
  });

  it("a tenant's own job on a shared task without trainOn mixes tenants: its dataset is the operator's only", async () => {
    const created = await call(ADMIN_B, '/admin/tasks/shared/distill', { method: 'POST' });
    expect(created.status).toBe(201);
    const jobB = ((await created.json()) as { job: { id: string; tenant: string } }).job;
    expect(jobB.tenant).toBe('tenant-b');
    const ended = await runToEnd(jobB.id);
    const byB = await download(ADMIN_B, jobB.id);
    expect(byB.status).toBe(404);
    expect(byB.text).not.toContain('tenant-a');
    expect(ended.steps.dataset).toMatchObject({ tenants: 2, ownTenantOnly: false });
    expect((await call(ADMIN_B, `/admin/jobs/${jobB.id}/dataset/manifest.json`)).status).toBe(404);
    expect((await download(KEYS.admin, jobB.id)).status).toBe(404);
    expect(tenantsIn((await download(OPERATOR, jobB.id)).text)).toEqual(['tenant-a', 'tenant-b']);
  });

  it("trainOn 'own' builds a dataset of the job tenant's pairs only, which that tenant may download", async () => {
    const created = await call(KEYS.admin, '/admin/tasks/own-only/distill', { method: 'POST' });
    expect(created.status).toBe(201);
    const jobA = ((await created.json()) as { job: { id: string } }).job.id;
    const ended = await runToEnd(jobA);
    const byA = await download(KEYS.admin, jobA);
    expect(byA.status).toBe(200);
    expect(tenantsIn(byA.text)).toEqual(['tenant-a']);
    expect(byA.text.trim().split('\n')).toHaveLength(PER_TENANT);
    expect(ended.steps.dataset).toMatchObject({ kept: PER_TENANT, tenants: 1, ownTenantOnly: true });
  });
});

describe('spec artifact paths resolve inside the caller tenant namespace', () => {
  const spec = (task: string, training_data: unknown) => ({
    task,
    teacher: 'teacher',
    task_type: 'classification',
    labels: ['yes', 'no'],
    training_data,
  });
  const submit = async (key: string, body: unknown) => {
    const res = await call(key, '/admin/distillations', { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { error?: { message: string; type: string; code: string; param: string } } & Record<string, unknown> };
  };
  const rows = Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `operator-only prompt ${i}`, label: i % 2 ? 'yes' : 'no' })).join('\n');

  it("a path outside the tenant's namespace gets the same 404 as a missing path", async () => {
    await h.distillery.artifacts.upsert('private/operator-prompts.jsonl', rows);
    const forbidden = await submit(ADMIN_B, spec('spec-b-1', { path: 'private/operator-prompts.jsonl' }));
    const missing = await submit(ADMIN_B, spec('spec-b-2', { path: 'private/no-such-file.jsonl' }));
    expect(forbidden.status).toBe(404);
    expect(missing.status).toBe(404);
    const shape = (r: typeof forbidden, path: string) => ({ ...r.body.error, message: r.body.error!.message.replace(path, '<path>') });
    expect(shape(forbidden, 'private/operator-prompts.jsonl')).toEqual(shape(missing, 'private/no-such-file.jsonl'));
    expect(forbidden.body.error).toMatchObject({ type: 'not_found_error', code: 'dataset_not_found', param: 'training_data' });
    // The operator reads any path.
    expect((await submit(OPERATOR, spec('spec-op', { path: 'private/operator-prompts.jsonl' }))).status).toBe(201);
  });

  it("a tenant's inline upload lands in its namespace: it may name it again, another tenant may not", async () => {
    const first = await submit(KEYS.admin, spec('spec-a-1', rows.replaceAll('operator-only', 'tenant-a')));
    expect(first.status).toBe(201);
    const path = (first.body.spec as { training_data: { path: string } }).training_data.path;
    expect(path.startsWith('tenants/tenant-a/')).toBe(true);
    expect((await submit(KEYS.admin, spec('spec-a-2', { path }))).status).toBe(201);
    const byB = await submit(ADMIN_B, spec('spec-b-3', { path }));
    expect(byB.status).toBe(404);
    expect(byB.body.error!.code).toBe('dataset_not_found');
  });
});

describe('reports', () => {
  const requests = async (key: string) => {
    const res = await call(key, `/admin/reports/online?task=shared&${WINDOW}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { tasks: { requests: number }[] }).tasks[0]?.requests ?? 0;
  };
  it("the operator report counts every tenant's pairs; a tenant's report only its own", async () => {
    expect(await requests(OPERATOR)).toBe(2 * PER_TENANT);
    expect(await requests(KEYS.admin)).toBe(PER_TENANT);
    expect(await requests(ADMIN_B)).toBe(PER_TENANT);
  });
});

describe('cancelling jobs is scoped by tenant (#15)', () => {
  it("a tenant cancels its own jobs only: another tenant's, or the operator's, answer 404 and stay untouched", async () => {
    const created = await call(KEYS.admin, '/admin/tasks/own-only/distill', { method: 'POST' });
    expect(created.status).toBe(201);
    const jobA = ((await created.json()) as { job: { id: string } }).job.id;
    const system = await h.distillery.triggers.request('shared', { type: 'threshold', detail: 'test' });

    const byB = await call(ADMIN_B, `/admin/jobs/${jobA}/cancel`, { method: 'POST' });
    expect(byB.status).toBe(404);
    expect(((await byB.json()) as { error: { code: string } }).error.code).toBe('job_not_found');
    expect((await call(KEYS.admin, `/admin/jobs/${system.job.id}/cancel`, { method: 'POST' })).status).toBe(404);
    expect((await h.distillery.jobStore.get(jobA))?.cancelRequested).toBeUndefined();
    expect((await h.distillery.jobStore.get(system.job.id))?.cancelRequested).toBeUndefined();

    const own = await call(KEYS.admin, `/admin/jobs/${jobA}/cancel`, { method: 'POST' });
    expect(own.status).toBe(202);
    expect(await own.json()).toMatchObject({ id: jobA, state: 'queued', cancelRequested: { at: expect.any(String) }, lease: null, deliveries: 0 });
    const operator = await call(OPERATOR, `/admin/jobs/${system.job.id}/cancel`, { method: 'POST' });
    expect(operator.status).toBe(202);
    for (const id of [jobA, system.job.id]) expect((await h.distillery.runner.run(id))?.state).toBe('cancelled');
    const detail = (await (await call(KEYS.admin, `/admin/jobs/${jobA}`)).json()) as Record<string, unknown>;
    expect(detail).toMatchObject({ state: 'cancelled', error: { code: 'cancelled' }, lease: null, nextRetryAt: null });
    const finished = await call(OPERATOR, `/admin/jobs/${jobA}/cancel`, { method: 'POST' });
    expect(finished.status).toBe(200);
  });
});
