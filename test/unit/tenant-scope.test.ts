import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../../src/adapters/local/fs-artifact-store.js';
import { DistilleryError } from '../../src/core/errors.js';
import {
  canDownloadDataset,
  canSeeJob,
  datasetTenantSummary,
  mayReadArtifact,
  readTenantArtifact,
  trainingTenants,
  trainOnSchema,
  uploadPrefixOf,
} from '../../src/core/distill/tenant-scope.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';

// The rules of tenant isolation of distillation data, one by one (the HTTP behaviour is in
// test/integration/tenant-isolation.test.ts).

const dir = mkdtempSync(path.join(tmpdir(), 'tenant-scope-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('artifact paths in specs', () => {
  it("a tenant reads only below tenants/<tenant>/; the operator reads anything", () => {
    expect(mayReadArtifact('a', 'tenants/a/data.jsonl')).toBe(true);
    expect(mayReadArtifact('a', 'tenants/a/distillations/uploads/x.jsonl')).toBe(true);
    for (const p of ['tenants/ab/data.jsonl', 'tenants/a', 'tenants/a/', 'tenants/b/data.jsonl', 'datasets/t/t.1/examples.jsonl', 'distillations/uploads/x.jsonl', 'tenants/a/../b/x']) {
      expect(mayReadArtifact('a', p), p).toBe(false);
    }
    // A tenant name that is not one path segment gets no namespace at all.
    expect(mayReadArtifact('a/b', 'tenants/a/b/x')).toBe(false);
    expect(mayReadArtifact('..', 'tenants/../x')).toBe(false);
    expect(mayReadArtifact('*', 'datasets/t/t.1/examples.jsonl')).toBe(true);
    expect(uploadPrefixOf('a')).toBe('tenants/a/distillations/uploads/');
    expect(uploadPrefixOf('*')).toBe('distillations/uploads/');
  });

  it('missing and forbidden give the same 404, and a forbidden path is never read', async () => {
    const store = new FsArtifactStore({ root: dir });
    await store.upsert('private/ops.jsonl', '{"prompt":"secret"}');
    let reads = 0;
    const counting = { get: (p: string) => (reads++, store.get(p)) };
    const failure = async (tenant: string, p: string) => {
      const err = await readTenantArtifact(counting, tenant, p, 'training_data').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DistilleryError);
      const e = err as DistilleryError;
      return { status: e.status, code: e.code, type: e.type, param: e.param, message: e.message.replace(p, '<path>') };
    };
    const forbidden = await failure('b', 'private/ops.jsonl');
    expect(reads).toBe(0);
    const missing = await failure('b', 'tenants/b/none.jsonl');
    expect(forbidden).toEqual(missing);
    expect(forbidden).toMatchObject({ status: 404, code: 'dataset_not_found', type: 'not_found_error', param: 'training_data' });
    expect(new TextDecoder().decode(await readTenantArtifact(counting, '*', 'private/ops.jsonl', 'training_data'))).toContain('secret');
  });
});

describe('trainOn', () => {
  it('accepts own, a list, or all with explicit consent', () => {
    for (const ok of ['own', ['a', 'b'], { tenants: ['a'] }, { tenants: 'all', consent: true }]) expect(trainOnSchema.safeParse(ok).success, JSON.stringify(ok)).toBe(true);
    for (const bad of ['all', { tenants: 'all' }, { tenants: 'all', consent: false }, [], { tenants: [] }]) expect(trainOnSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    expect(taskSchema.parse({ name: 't', teacher: 'm', trainOn: 'own' }).trainOn).toBe('own');
    expect(taskSchema.safeParse({ name: 't', teacher: 'm', trainOn: { tenants: 'all' } }).success).toBe(false);
  });

  it("resolves to the tenants whose pairs a job may use", () => {
    const manual = { tenant: 'a', kind: 'redistill' as const };
    const system = { kind: 'redistill' as const };
    expect(trainingTenants(manual, 'own')).toEqual(['a']);
    expect(trainingTenants(system, 'own')).toEqual(['*']);
    expect(trainingTenants(manual, ['b', 'c'])).toEqual(['b', 'c']);
    expect(trainingTenants(manual, { tenants: ['b'] })).toEqual(['b']);
    expect(trainingTenants(manual, { tenants: 'all', consent: true })).toBeUndefined();
    expect(trainingTenants(manual, undefined)).toBeUndefined();
    // A dataset job trains on its own stage-1 answers only, whatever the task says.
    expect(trainingTenants({ tenant: 'a', kind: 'dataset' }, { tenants: 'all', consent: true })).toEqual(['a']);
  });
});

describe('jobs and datasets', () => {
  it('jobs without a tenant are the operator’s; a dataset is downloadable by its tenant only when it holds no other tenant’s pairs', () => {
    expect(canSeeJob('a', {})).toBe(false);
    expect(canSeeJob('*', { tenant: 'a' })).toBe(true);
    expect(canSeeJob('a', { tenant: 'a' })).toBe(true);
    const job = (tenant: string | undefined, tenants: string[] | undefined) => ({ ...(tenant ? { tenant } : {}), steps: { dataset: datasetTenantSummary({ ...(tenant ? { tenant } : {}) }, tenants ? { tenants } : {}) as never } });
    expect(canDownloadDataset('a', job('a', ['a']))).toBe(true);
    expect(canDownloadDataset('a', job('a', ['a', 'b']))).toBe(false);
    expect(canDownloadDataset('a', job('a', ['b']))).toBe(false);
    expect(canDownloadDataset('a', job('a', undefined))).toBe(false);
    expect(canDownloadDataset('b', job('a', ['a']))).toBe(false);
    expect(canDownloadDataset('a', job(undefined, ['a']))).toBe(false);
    expect(canDownloadDataset('*', job('a', ['a', 'b']))).toBe(true);
    expect(datasetTenantSummary({ tenant: 'a' }, { tenants: ['a', 'b'] })).toEqual({ tenants: 2, ownTenantOnly: false });
  });
});
