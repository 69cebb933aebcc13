import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteJobStore } from '../../src/adapters/sqlite/sqlite-job-store.js';
import { SqliteModelRegistry } from '../../src/adapters/sqlite/sqlite-model-registry.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { makeJob } from '../contract/job-store-contract.js';
import { onnxVersion } from '../contract/model-registry-contract.js';
import { makePair } from '../contract/pair-store-contract.js';
import { holdSqliteWriteLock } from '../fixtures/sqlite-lock-holder.js';

// Issue #14 row 5, store by store: the SQLite stores the serving thread calls directly (jobs and
// the registry through admin routes and triggers; pairs through tools) never sleep on the thread
// while another process holds the write lock. Before, each write sat in SQLite's 5 s busy
// time-out on the event loop and then threw an untyped SQLITE_BUSY; now the wait is an async
// back-off, the loop keeps running, and past the deadline the write fails as a retryable 503.

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sqlite-busy-'));
  file = path.join(dir, 'distillery.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `work` while measuring how long the event loop was ever blocked. */
async function loopBlockedWhile<T>(work: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; maxBlockedMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const [result] = await Promise.allSettled([work()]);
  delay.disable();
  return { result: result!, maxBlockedMs: delay.max / 1e6 };
}

describe('SQLite stores while another process holds the write lock', () => {
  it('fail a write with a retryable 503 at the deadline, without blocking the event loop', async () => {
    const jobs = new SqliteJobStore({ path: file, busyDeadlineInMs: 800 });
    const pairs = new SqlitePairStore({ path: file, busyDeadlineInMs: 800 });
    const registry = new SqliteModelRegistry({ path: file });
    const lock = await holdSqliteWriteLock(file);
    try {
      const writes: (() => Promise<unknown>)[] = [() => jobs.create(makeJob('busy')), () => pairs.upsert(makePair('busy')), () => registry.create(onnxVersion('busy'))];
      for (const write of writes) {
        const started = Date.now();
        const { result, maxBlockedMs } = await loopBlockedWhile(write);
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason).toMatchObject({ status: 503, code: 'store_busy', retryable: true });
        expect(Date.now() - started).toBeGreaterThanOrEqual(700);
        // Before: one blocking 5 s busy wait on the loop.
        expect(maxBlockedMs).toBeLessThan(500);
      }
      // Reads go on under the lock (WAL).
      expect(await jobs.get('absent')).toBeUndefined();
      expect(await registry.getPromoted('busy')).toBeUndefined();
      expect(await pairs.getCounter('busy')).toBe(0);
    } finally {
      await lock.release();
      await Promise.all([jobs.close(), pairs.close(), registry.close()]);
    }
  }, 60_000);

  it('complete a write that was waiting once the lock is released', async () => {
    const jobs = new SqliteJobStore({ path: file, busyDeadlineInMs: 30_000 });
    const registry = new SqliteModelRegistry({ path: file });
    const lock = await holdSqliteWriteLock(file);
    try {
      const job = makeJob('waits');
      const creating = jobs.create(job);
      let settled = false;
      void creating.finally(() => (settled = true)).catch(() => undefined);
      // The write is retrying meanwhile: the loop runs (this timer fires) and nothing is settled.
      await new Promise((r) => setTimeout(r, 200));
      expect(settled).toBe(false);
      await lock.release();
      expect((await creating).id).toBe(job.id);
      expect((await registry.create(onnxVersion('waits'))).version).toBe(1);
    } finally {
      await lock.release();
      await Promise.all([jobs.close(), registry.close()]);
    }
  }, 60_000);
});
