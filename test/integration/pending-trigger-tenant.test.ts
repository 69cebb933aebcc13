import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createDistillery, type Distillery } from '../../src/compose/index.js';
import { loadConfig } from '../../src/config.js';
import type { JobStore } from '../../src/core/ports.js';

// A trigger recorded beside an active job by a tenant (POST /admin/tasks/{task}/distill) gets its
// follow-up job created for that tenant, who can then see it; before, the follow-up was created
// under the operator tenant '*' and the tenant that asked for it could not find it.

let dir: string;
let d: Distillery | undefined;
afterEach(async () => {
  await d?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('the follow-up job of a tenant trigger recorded during a job belongs to that tenant', async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'distillery-pending-tenant-'));
  d = await createDistillery(
    loadConfig({
      DISTILLERY_DATA_DIR: dir,
      DISTILLERY_CONFIG_JSON: JSON.stringify({
        models: { teacher: { baseURL: 'http://127.0.0.1:9/v1', auth: 'none' } },
        tasks: [{ name: 'intents', teacher: 'teacher', student: { source: 'registry' }, classification: { labels: ['a', 'b'] }, distill: { threshold: null } }],
      }),
    }),
  );
  const { job } = await d.triggers.request('intents', { type: 'schedule' });
  expect(job.tenant).toBe('*');
  const recorded = await d.triggers.request('intents', { type: 'manual', detail: 'admin API' }, { tenant: 'tenant-b' });
  expect(recorded).toMatchObject({ created: false, pending: { first: { tenant: 'tenant-b' } } });
  // The running job ends (as its worker would write it); the runner then starts the follow-up.
  const current = (await d.jobStore.get(job.id))!;
  await d.jobStore.update({ ...current, state: 'failed', finishedAt: current.updatedAt, error: { code: 'x', message: 'ended' } });
  const followUp = await d.triggers.startPending('intents');
  expect(followUp).toMatchObject({ created: true, job: { id: 'intents.2', tenant: 'tenant-b', trigger: { type: 'manual' } } });
  const mine = [];
  for await (const j of d.jobStore.list({ tenant: 'tenant-b' })) mine.push(j.id);
  expect(mine).toEqual(['intents.2']);
});

it('a store failure while the follow-up job is created leaves the pending request recorded, never lost', async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'distillery-pending-kept-'));
  const { SqliteJobStore } = await import('../../src/adapters/sqlite/sqlite-job-store.js');
  const inner = new SqliteJobStore({ path: path.join(dir, 'jobs.db') });
  let failCreates = false;
  // The real store, with `create` failing on demand (a store outage between take and create).
  const jobs: JobStore = {
    create: (job, o) => (failCreates ? Promise.reject(Object.assign(new Error('store down (injected)'), { status: 503 })) : inner.create(job, o)),
    get: (id, o) => inner.get(id, o),
    update: (job, o) => inner.update(job, o),
    list: (q, o) => inner.list(q, o),
    recordPendingTrigger: (t, e, o) => inner.recordPendingTrigger(t, e, o),
    getPendingTrigger: (t, o) => inner.getPendingTrigger(t, o),
    takePendingTrigger: (t, o) => inner.takePendingTrigger(t, o),
  };
  d = await createDistillery(
    loadConfig({
      DISTILLERY_DATA_DIR: dir,
      DISTILLERY_CONFIG_JSON: JSON.stringify({
        models: { teacher: { baseURL: 'http://127.0.0.1:9/v1', auth: 'none' } },
        tasks: [{ name: 'intents', teacher: 'teacher', student: { source: 'registry' }, classification: { labels: ['a', 'b'] }, distill: { threshold: null } }],
      }),
    }),
    { jobStore: jobs },
  );
  const { job } = await d.triggers.request('intents', { type: 'schedule' });
  await d.triggers.request('intents', { type: 'manual', detail: 'admin API' }, { tenant: 'tenant-b' });
  const current = (await inner.get(job.id))!;
  await inner.update({ ...current, state: 'failed', finishedAt: current.updatedAt, error: { code: 'x', message: 'ended' } });
  failCreates = true;
  await expect(d.triggers.startPending('intents')).rejects.toThrow(/store down/);
  // Before, the request was taken first and gone with the failed create.
  expect(await inner.getPendingTrigger('intents')).toMatchObject({ count: 1, first: { type: 'manual', tenant: 'tenant-b' } });
  failCreates = false;
  expect(await d.triggers.startPending('intents')).toMatchObject({ created: true, job: { id: 'intents.2', tenant: 'tenant-b' } });
  expect(await inner.getPendingTrigger('intents')).toBeUndefined();
  await inner.close();
});
