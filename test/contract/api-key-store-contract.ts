import { createHash, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DistilleryError } from '../../src/core/errors.js';
import { keyIdOf, type ApiKeyStore, type StoredApiKey } from '../../src/core/keys/api-key-store.js';

// The ApiKeyStore contract, run unchanged over SQLite and Cosmos DB. Every test makes keys of its
// own (random digests), so a shared server needs no cleanup; tests that read the whole list open a
// fresh store.
//
// Semantics every adapter must keep:
// - a key comes back exactly as created (optional fields absent stay absent, no storage fields);
// - a digest or an id that exists already is refused with 409 `key_exists`;
// - `list` gives every key, oldest first (ties by id);
// - `delete` answers whether it deleted; a deleted key no longer authenticates, and touching it
//   does not bring it back;
// - `touch` records use and never moves `lastUsedAt` backwards;
// - an aborted signal rejects the call before it does anything.

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function newKey(overrides: Partial<StoredApiKey> = {}): StoredApiKey {
  const sha256 = createHash('sha256').update(randomUUID()).digest('hex');
  return { id: keyIdOf(sha256), sha256, tenant: 'acme', scopes: ['chat'], createdAt: '2026-01-02T03:04:05.000Z', ...overrides };
}

export function apiKeyStoreContract(name: string, create: () => Promise<{ store: ApiKeyStore; cleanup?: () => Promise<void> }>): void {
  describe(`ApiKeyStore contract: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    const open = async () => {
      const { store, cleanup } = await create();
      cleanups.push(async () => {
        await store.close();
        await cleanup?.();
      });
      return store;
    };
    afterAll(async () => {
      for (const c of cleanups) await c();
    });

    it('gives a created key back by its digest, exactly as created', async () => {
      const s = await open();
      const full = newKey({ tenant: '*', scopes: ['chat', 'admin', 'metrics'], name: "alice's notebook", ratePerSecond: 5 });
      const bare = newKey();
      await s.create(full);
      await s.create(bare);
      expect(await s.getByDigest(full.sha256)).toEqual(full);
      const got = await s.getByDigest(bare.sha256);
      expect(got).toEqual(bare);
      // No storage bookkeeping (etags, timestamps, internal ids) leaks into the record.
      expect(Object.keys(got!).sort()).toEqual(Object.keys(bare).sort());
      expect(await s.getByDigest(newKey().sha256)).toBeUndefined();
    });

    it('refuses a digest or an id that exists already with 409 key_exists', async () => {
      const s = await open();
      const key = newKey();
      await s.create(key);
      const again = s.create({ ...key, name: 'again' });
      await expect(again).rejects.toBeInstanceOf(DistilleryError);
      await expect(again).rejects.toMatchObject({ status: 409, code: 'key_exists' });
      const sameId = newKey({ id: key.id });
      await expect(s.create(sameId)).rejects.toMatchObject({ status: 409, code: 'key_exists' });
      expect(await s.getByDigest(sameId.sha256)).toBeUndefined();
      expect(await s.getByDigest(key.sha256)).toEqual(key);
    });

    it('lists every key, oldest first and ties by id', async () => {
      const s = await open();
      const late = newKey({ createdAt: '2026-03-01T00:00:00.000Z' });
      const early = newKey({ createdAt: '2026-01-01T00:00:00.000Z' });
      const tieA = newKey({ id: 'aaaa00000000', createdAt: '2026-02-01T00:00:00.000Z' });
      const tieB = newKey({ id: 'bbbb00000000', createdAt: '2026-02-01T00:00:00.000Z' });
      for (const k of [late, tieB, early, tieA]) await s.create(k);
      const listed = (await collect(s.list())).filter((k) => [late, early, tieA, tieB].some((x) => x.sha256 === k.sha256));
      expect(listed).toEqual([early, tieA, tieB, late]);
    });

    it('deletes by id, answering whether it deleted; a deleted key is gone and stays gone', async () => {
      const s = await open();
      const key = newKey();
      const other = newKey();
      await s.create(key);
      await s.create(other);
      expect(await s.delete(key.id)).toBe(true);
      expect(await s.getByDigest(key.sha256)).toBeUndefined();
      expect(await s.delete(key.id)).toBe(false);
      expect(await s.delete('000000000000')).toBe(false);
      await s.touch(key.id, '2026-05-01T00:00:00.000Z');
      expect(await s.getByDigest(key.sha256)).toBeUndefined();
      expect((await collect(s.list())).map((k) => k.sha256)).not.toContain(key.sha256);
      expect(await s.getByDigest(other.sha256)).toEqual(other);
      // The id is free again once the key is deleted.
      const reissued = newKey({ id: key.id });
      await s.create(reissued);
      expect(await s.getByDigest(reissued.sha256)).toEqual(reissued);
    });

    it('records use with touch and never moves lastUsedAt backwards', async () => {
      const s = await open();
      const key = newKey();
      await s.create(key);
      await s.touch(key.id, '2026-04-01T10:00:00.000Z');
      expect((await s.getByDigest(key.sha256))?.lastUsedAt).toBe('2026-04-01T10:00:00.000Z');
      await s.touch(key.id, '2026-04-01T09:00:00.000Z');
      expect((await s.getByDigest(key.sha256))?.lastUsedAt).toBe('2026-04-01T10:00:00.000Z');
      await s.touch(key.id, '2026-04-01T11:00:00.000Z');
      const touched = await s.getByDigest(key.sha256);
      expect(touched).toEqual({ ...key, lastUsedAt: '2026-04-01T11:00:00.000Z' });
      expect((await collect(s.list())).find((k) => k.id === key.id)?.lastUsedAt).toBe('2026-04-01T11:00:00.000Z');
      // Touching a key that does not exist is a no-op, not an error.
      await expect(s.touch('ffffffffffff', '2026-04-01T12:00:00.000Z')).resolves.toBeUndefined();
    });

    it('keeps the latest use when several instances touch the same key at once', async () => {
      const s = await open();
      const key = newKey();
      await s.create(key);
      const times = Array.from({ length: 8 }, (_, i) => `2026-04-02T10:0${i}:00.000Z`);
      // Latest first: a last-writer-wins store would end on an earlier time.
      await Promise.all([...times].reverse().map((t) => s.touch(key.id, t)));
      expect((await s.getByDigest(key.sha256))?.lastUsedAt).toBe(times.at(-1));
    });

    it('lets exactly one of two concurrent creates of the same digest win', async () => {
      const s = await open();
      const key = newKey();
      const results = await Promise.allSettled([s.create(key), s.create({ ...key, name: 'twin' })]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { status: 409, code: 'key_exists' } });
      expect((await collect(s.list())).filter((k) => k.sha256 === key.sha256)).toHaveLength(1);
    });

    it('rejects every call made with an aborted signal, and does nothing', async () => {
      const s = await open();
      const key = newKey();
      await s.create(key);
      const abortSignal = AbortSignal.abort();
      const fresh = newKey();
      await expect(s.create(fresh, { abortSignal })).rejects.toThrow();
      await expect(s.getByDigest(key.sha256, { abortSignal })).rejects.toThrow();
      await expect(collect(s.list({ abortSignal }))).rejects.toThrow();
      await expect(s.delete(key.id, { abortSignal })).rejects.toThrow();
      await expect(s.touch(key.id, '2026-06-01T00:00:00.000Z', { abortSignal })).rejects.toThrow();
      expect(await s.getByDigest(fresh.sha256)).toBeUndefined();
      expect(await s.getByDigest(key.sha256)).toEqual(key);
    });
  });
}
