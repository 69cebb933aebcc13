import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import type { ModelRegistry, ModelVersion } from '../../src/core/ports.js';

// The ModelRegistry contract, run unchanged over SQLite and Cosmos DB. Tests use their own task
// names so a shared server needs no cleanup.
//
// Semantics every adapter must keep:
// - `create` numbers versions 1, 2, 3… per task, state `candidate`, id `${task}@${version}`.
// - `promote` makes one version promoted and retires the previously promoted one; never two
//   promoted at once; promoting the promoted version again is a no-op.
// - `rollback` walks back through promotion history: after promoting 1, 2, 3, rollbacks give 2,
//   then 1, then a 409 `no_previous_version`.

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

type NewVersion = Parameters<ModelRegistry['create']>[0];

export function onnxVersion(task: string, overrides: Partial<NewVersion> = {}): NewVersion {
  return {
    task,
    kind: 'onnx',
    artifactPath: `models/${task}/${randomUUID().slice(0, 8)}`,
    lineage: { jobId: `job-${randomUUID().slice(0, 8)}`, datasetVersion: 'ds-1', teacherModel: 'gpt-4o', hyperparameters: { learning_rate: 1, epochs: 5 } },
    metrics: { accuracy: 0.91, agreement: 0.88 },
    ...overrides,
  };
}

export function modelRegistryContract(
  name: string,
  create: () => Promise<{ registry: ModelRegistry; cleanup?: () => Promise<void> }>,
): void {
  describe(`ModelRegistry contract: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    const open = async () => {
      const { registry, cleanup } = await create();
      if (cleanup) cleanups.push(cleanup);
      return registry;
    };
    afterAll(async () => {
      for (const c of cleanups) await c();
    });
    const task = () => `task-${randomUUID().slice(0, 8)}`;
    const states = async (r: ModelRegistry, t: string) =>
      Object.fromEntries((await collect(r.list(t))).map((v) => [v.version, v.state]));

    it('creates numbered candidates with lineage, gets them back, lists newest first', async () => {
      const r = await open();
      const t = task();
      const v1 = await r.create(onnxVersion(t));
      const v2 = await r.create({
        task: t,
        kind: 'remote',
        endpoint: { model: 'phi-4-mini-ft', baseURL: 'https://example.invalid/v1' },
        lineage: { jobId: 'job-remote' },
      });
      expect(v1).toMatchObject({ id: `${t}@1`, task: t, version: 1, state: 'candidate', kind: 'onnx' });
      expect(v1.lineage).toMatchObject({ datasetVersion: 'ds-1', teacherModel: 'gpt-4o', hyperparameters: { learning_rate: 1, epochs: 5 } });
      expect(v1.metrics).toEqual({ accuracy: 0.91, agreement: 0.88 });
      expect(Number.isNaN(Date.parse(v1.createdAt))).toBe(false);
      expect(typeof v1.etag).toBe('string');
      expect(v2).toMatchObject({ id: `${t}@2`, version: 2, kind: 'remote', endpoint: { model: 'phi-4-mini-ft' } });
      const got = (await r.get(t, 1))!;
      expect({ ...got, etag: undefined }).toEqual({ ...v1, etag: undefined });
      expect(await r.get(t, 3)).toBeUndefined();
      expect(await r.get(task(), 1)).toBeUndefined();
      expect((await collect(r.list(t))).map((v) => v.version)).toEqual([2, 1]);
      expect(await collect(r.list(task()))).toEqual([]);
      expect(await r.getPromoted(t)).toBeUndefined();
      // Another task numbers from 1 on its own.
      expect((await r.create(onnxVersion(task()))).version).toBe(1);
    });

    it('numbers concurrent creates without gaps or duplicates', async () => {
      const r = await open();
      const t = task();
      const made = await Promise.all(Array.from({ length: 8 }, () => r.create(onnxVersion(t))));
      expect(made.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    it('promotes one version at a time and retires the previous one', async () => {
      const r = await open();
      const t = task();
      for (let i = 0; i < 3; i++) await r.create(onnxVersion(t));
      const p1 = await r.promote(t, 1);
      expect(p1).toMatchObject({ version: 1, state: 'promoted' });
      expect(Number.isNaN(Date.parse(p1.promotedAt!))).toBe(false);
      expect((await r.getPromoted(t))?.version).toBe(1);
      await r.promote(t, 2);
      expect(await states(r, t)).toEqual({ 1: 'retired', 2: 'promoted', 3: 'candidate' });
      expect((await r.getPromoted(t))?.id).toBe(`${t}@2`);
      // Idempotent: a retried promote changes nothing.
      expect((await r.promote(t, 2)).state).toBe('promoted');
      expect(await states(r, t)).toEqual({ 1: 'retired', 2: 'promoted', 3: 'candidate' });
    });

    it('rolls back through promotion history, then refuses with a 409', async () => {
      const r = await open();
      const t = task();
      for (let i = 0; i < 4; i++) await r.create(onnxVersion(t));
      await r.promote(t, 1);
      await r.promote(t, 2);
      await r.promote(t, 3);
      const back = await r.rollback(t);
      expect(back).toMatchObject({ version: 2, state: 'promoted' });
      expect(await states(r, t)).toEqual({ 1: 'retired', 2: 'promoted', 3: 'retired', 4: 'candidate' });
      expect((await r.rollback(t)).version).toBe(1);
      expect(await states(r, t)).toEqual({ 1: 'promoted', 2: 'retired', 3: 'retired', 4: 'candidate' });
      const err = await r.rollback(t).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DistilleryError);
      expect(err).toMatchObject({ status: 409, code: 'no_previous_version' });
      expect((await r.getPromoted(t))?.version).toBe(1);
      // Promoting again after rollbacks starts a new history on top.
      await r.promote(t, 4);
      expect((await r.rollback(t)).version).toBe(1);
    });

    it('refuses rollback with nothing promoted, and promote of an unknown version with a 404', async () => {
      const r = await open();
      const t = task();
      await expect(r.rollback(t)).rejects.toMatchObject({ status: 409 });
      await r.create(onnxVersion(t));
      await expect(r.rollback(t)).rejects.toMatchObject({ status: 409 });
      await r.promote(t, 1);
      await expect(r.rollback(t)).rejects.toMatchObject({ status: 409 });
      await expect(r.promote(t, 9)).rejects.toMatchObject({ status: 404 });
      expect((await r.getPromoted(t))?.version).toBe(1);
    });

    it('never leaves two promoted versions under concurrent promotes', async () => {
      const r = await open();
      const t = task();
      for (let i = 0; i < 5; i++) await r.create(onnxVersion(t));
      await Promise.all([1, 2, 3, 4, 5].map((v) => r.promote(t, v)));
      const all = await collect(r.list(t));
      expect(all.filter((v: ModelVersion) => v.state === 'promoted')).toHaveLength(1);
    });

    it('rejects invalid versions with a typed 400 and stores nothing', async () => {
      const r = await open();
      const t = task();
      for (const bad of [
        { ...onnxVersion(t), artifactPath: undefined },
        { task: t, kind: 'remote', lineage: {} },
        { ...onnxVersion(t), kind: 'gguf' },
        { ...onnxVersion(t), task: 'bad task name!' },
        { ...onnxVersion(t), metrics: { accuracy: Number.NaN } },
        { ...onnxVersion(t), lineage: null },
      ]) {
        await expect(r.create(bad as NewVersion)).rejects.toMatchObject({ status: 400 });
      }
      expect(await collect(r.list(t))).toEqual([]);
      await expect(r.get(t, 0)).rejects.toMatchObject({ status: 400 });
      await expect(r.promote(t, -1)).rejects.toMatchObject({ status: 400 });
    });
  });
}
