import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import type { ArtifactStore } from '../../src/core/ports.js';

// The ArtifactStore contract, run unchanged over every adapter (folder, Azure Blob Storage).
// Each test writes under its own random prefix so a shared server needs no cleanup between tests.

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

export function artifactStoreContract(
  name: string,
  create: () => Promise<{ store: ArtifactStore; cleanup?: () => Promise<void> }>,
): void {
  describe(`ArtifactStore contract: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    const open = async () => {
      const { store, cleanup } = await create();
      if (cleanup) cleanups.push(cleanup);
      return store;
    };
    afterAll(async () => {
      for (const c of cleanups) await c();
    });
    const prefix = () => `models/t-${randomUUID().slice(0, 8)}`;

    it('round-trips bytes and strings exactly and overwrites on upsert', async () => {
      const store = await open();
      const p = prefix();
      const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
      await store.upsert(`${p}/model.onnx`, bytes, { contentType: 'application/octet-stream' });
      await store.upsert(`${p}/model.json`, '{"labels":["a","b"],"note":"ünïcödé"}', { contentType: 'application/json' });
      expect(Array.from((await store.get(`${p}/model.onnx`))!)).toEqual(Array.from(bytes));
      expect(text(await store.get(`${p}/model.json`))).toBe('{"labels":["a","b"],"note":"ünïcödé"}');
      await store.upsert(`${p}/model.json`, 'v2');
      expect(text(await store.get(`${p}/model.json`))).toBe('v2');
      await store.upsert(`${p}/empty`, new Uint8Array(0));
      expect((await store.get(`${p}/empty`))?.byteLength).toBe(0);
    });

    it('returns undefined for an absent path and deletes idempotently', async () => {
      const store = await open();
      const p = prefix();
      expect(await store.get(`${p}/missing.onnx`)).toBeUndefined();
      await store.upsert(`${p}/a`, 'x');
      await store.delete(`${p}/a`);
      await store.delete(`${p}/a`);
      expect(await store.get(`${p}/a`)).toBeUndefined();
    });

    it('lists by prefix, sorted, including nested paths and nothing outside the prefix', async () => {
      const store = await open();
      const p = prefix();
      for (const path of [`${p}/2/model.onnx`, `${p}/1/model.json`, `${p}/1/model.onnx`, `${p}-other/1/model.onnx`]) {
        await store.upsert(path, 'x');
      }
      expect(await collect(store.list(`${p}/`))).toEqual([`${p}/1/model.json`, `${p}/1/model.onnx`, `${p}/2/model.onnx`]);
      expect(await collect(store.list(`${p}/1/`))).toEqual([`${p}/1/model.json`, `${p}/1/model.onnx`]);
      expect(await collect(store.list(`${p}/1/model.j`))).toEqual([`${p}/1/model.json`]);
      expect(await collect(store.list(`${p}/9/`))).toEqual([]);
      expect((await collect(store.list(p))).length).toBe(4);
    });

    it('rejects paths that could escape the store with a typed 400 and writes nothing', async () => {
      const store = await open();
      for (const bad of ['', '/abs/path', '../up', 'a/../../b', 'a//b', 'a\\b', 'a/./b', 'nul\u0000']) {
        await expect(store.upsert(bad, 'x')).rejects.toBeInstanceOf(DistilleryError);
        await expect(store.get(bad)).rejects.toMatchObject({ status: 400 });
        await expect(store.delete(bad)).rejects.toMatchObject({ status: 400 });
      }
      await expect(collect(store.list('../'))).rejects.toMatchObject({ status: 400 });
    });

    it('honours an aborted signal', async () => {
      const store = await open();
      const ac = new AbortController();
      ac.abort();
      await expect(store.upsert(`${prefix()}/x`, 'x', { abortSignal: ac.signal })).rejects.toThrow();
    });
  });
}
