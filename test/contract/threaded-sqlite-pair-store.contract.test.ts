import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { ThreadedSqlitePairStore } from '../../src/adapters/sqlite/threaded-sqlite-pair-store.js';
import { holdSqliteWriteLock } from '../fixtures/sqlite-lock-holder.js';
import { makePair, pairStoreContract } from './pair-store-contract.js';

// The SQLite pair store the server uses (on a thread of its own) keeps the PairStore contract:
// the same suite as every adapter, and a write through it is read back by a plain SqlitePairStore
// on the same file (another process would see the same).

pairStoreContract(
  'SQLite on its own thread (:memory:)',
  async () => new ThreadedSqlitePairStore({ path: ':memory:', pageSize: 7 }),
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pairs-thread-twins-'));
    const file = path.join(dir, 'pairs.db');
    return {
      writer: new ThreadedSqlitePairStore({ path: file, pageSize: 7 }),
      openReader: async () => new SqlitePairStore({ path: file, pageSize: 7 }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
);

describe('ThreadedSqlitePairStore', () => {
  it('stops a reader that breaks early without leaking its cursor, and reads on after it', async () => {
    const store = new ThreadedSqlitePairStore({ path: ':memory:', pageSize: 3 });
    try {
      const pairs = Array.from({ length: 10 }, (_, i) => makePair('early-break', { id: `e-${i}`, createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() }));
      await store.upsertMany(pairs);
      const seen: string[] = [];
      for await (const p of store.list({ task: 'early-break' })) {
        seen.push(p.id);
        if (seen.length === 4) break;
      }
      expect(seen).toEqual(['e-0', 'e-1', 'e-2', 'e-3']);
      const all: string[] = [];
      for await (const p of store.list({ task: 'early-break', limit: 5 })) all.push(p.id);
      expect(all).toEqual(['e-0', 'e-1', 'e-2', 'e-3', 'e-4']);
    } finally {
      await store.close();
    }
  });

  it('refuses calls beyond its bound at once with a retryable 503, and answers the ones it took', async () => {
    const store = new ThreadedSqlitePairStore({ path: ':memory:', maxPendingOperations: 4 });
    try {
      const calls = Array.from({ length: 10 }, (_, i) => store.upsert(makePair('bounded', { id: `b-${i}` })).then(() => 'ok', (err: unknown) => err));
      const results = await Promise.all(calls);
      expect(results.filter((r) => r === 'ok')).toHaveLength(4);
      for (const r of results.filter((r) => r !== 'ok')) expect(r).toMatchObject({ status: 503, code: 'store_busy', retryable: true });
      expect(await store.getCounter('bounded')).toBe(4);
      expect(store.pendingOperations).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('turns a record the thread cannot receive into a 400, not a crash', async () => {
    const store = new ThreadedSqlitePairStore({ path: ':memory:' });
    try {
      const bad = makePair('clone', { reason: (() => 'x') as unknown as string });
      await expect(store.upsert(bad)).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
      await store.upsert(makePair('clone'));
      expect(await store.getCounter('clone')).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('gives up on a call the thread does not answer in time with a retryable 503; the write lands later, once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pairs-thread-timeout-'));
    const file = path.join(dir, 'pairs.db');
    const store = new ThreadedSqlitePairStore({ path: file, operationTimeoutInMs: 300, busyDeadlineInMs: 60_000 });
    try {
      // The thread is up (its start can take longer than the time-out under vitest) and the schema exists.
      for (let up = false; !up; ) up = await store.upsert(makePair('slow')).then(() => true, () => false);
      const lock = await holdSqliteWriteLock(file);
      const pair = makePair('slow');
      const started = Date.now();
      await expect(store.upsert(pair)).rejects.toMatchObject({ status: 503, code: 'store_timeout', retryable: true });
      expect(Date.now() - started).toBeLessThan(5_000);
      await lock.release();
      // The thread finished the write after the lock went; a retry (the writer's replay) is a no-op.
      await store.flush();
      expect(await store.get('slow', 'acme', pair.id)).toEqual(pair);
      const counted = await store.getCounter('slow');
      await store.upsert(pair);
      expect(await store.getCounter('slow')).toBe(counted);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('answers every call with a retryable error when the database cannot be opened, and still closes', async () => {
    const store = new ThreadedSqlitePairStore({ path: path.join(tmpdir(), 'no-such-dir-for-pairs', 'x', 'pairs.db') });
    await expect(store.upsert(makePair('unopenable'))).rejects.toMatchObject({ status: 503, retryable: true });
    await expect(store.getCounter('unopenable')).rejects.toMatchObject({ status: 503 });
    await store.close();
  });
});
