import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FilePairSpool } from '../../src/adapters/local/file-pair-spool.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { PairWriter } from '../../src/core/pairs/pair-writer.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import type { PairSpool } from '../../src/core/ports.js';
import { FaultyPairStore } from '../fixtures/faulty-pair-store.js';
import { numberedPair } from '../fixtures/pair-records.js';

// The pair writer and its durable outbox over a real SQLite store whose writes fail on demand.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'distillery-spool-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const pair = numberedPair;

async function ids(store: SqlitePairStore) {
  const out: string[] = [];
  for await (const p of store.list({ task: 't' })) out.push(p.id);
  return out;
}

describe('PairWriter with a durable spool', () => {
  it('spools while the store is down, keeps memory bounded, and replays everything in order', async () => {
    const real = new SqlitePairStore({ path: path.join(dir, 'db.sqlite') });
    const store = new FaultyPairStore(real);
    const writer = new PairWriter({ store, spool: new FilePairSpool({ dir: path.join(dir, 'spool') }), maxQueueLength: 100, maxBackoffInMs: 20 });
    store.down = true;
    let maxMemory = 0;
    for (let i = 0; i < 5000; i++) {
      expect(writer.enqueue(pair(i))).toBe(true);
      maxMemory = Math.max(maxMemory, (writer as unknown as { queue: unknown[] }).queue.length);
      // Requests arrive no faster than the disk takes them (the spill's fsync runs off the loop).
      if (i % 25 === 0) while (writer.health().queued > 50) await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(store.failedWrites).toBeGreaterThan(0);
    expect(writer.pending).toBe(5000);
    expect(writer.spooled).toBeGreaterThan(4000);
    expect(writer.refused).toBe(0);
    // In memory only what arrived since the last spill: never more than the bound.
    expect(maxMemory).toBeLessThanOrEqual(100);
    store.down = false;
    await writer.flush();
    const stored = await ids(real);
    expect(stored).toHaveLength(5000);
    expect(stored).toEqual([...stored].sort());
    expect(writer.pending).toBe(0);
    expect(readdirSync(path.join(dir, 'spool'))).toEqual([]);
    await real.close();
  });

  it('a crash loses nothing that reached the spool: a new process replays it', async () => {
    const spoolDir = path.join(dir, 'spool');
    // A real process spools 300 records against a dead store and is killed with SIGKILL.
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/spool-then-crash.ts', import.meta.url)), spoolDir, '300'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('SPOOLED') && resolve(l));
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    expect(line).toBe('SPOOLED 300');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // A torn half-line, as a crash in the middle of a write would leave.
    writeFileSync(path.join(spoolDir, 'segment-999999999999.jsonl'), '{"id":"torn');
    const real = new SqlitePairStore({ path: path.join(dir, 'db.sqlite') });
    const reborn = new PairWriter({ store: real, spool: new FilePairSpool({ dir: spoolDir }) });
    expect(reborn.pending).toBe(300);
    await reborn.flush();
    expect(await ids(real)).toHaveLength(300);
    await real.close();
  });

  it('close() with the store still down spools what is left within the deadline', async () => {
    const real = new SqlitePairStore({ path: ':memory:' });
    const store = new FaultyPairStore(real);
    store.down = true;
    const spool = new FilePairSpool({ dir: path.join(dir, 'spool') });
    const writer = new PairWriter({ store, spool, maxBackoffInMs: 10 });
    for (let i = 0; i < 50; i++) writer.enqueue(pair(i));
    const t0 = Date.now();
    await writer.close({ deadlineInMs: 200 });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(spool.size()).toBe(50);
    expect(writer.enqueue(pair(99))).toBe(false);
    await real.close();
  });

  it('without a spool, refuses past the memory bound instead of growing', async () => {
    const real = new SqlitePairStore({ path: ':memory:' });
    const store = new FaultyPairStore(real);
    store.down = true;
    const writer = new PairWriter({ store, maxQueueLength: 10, maxBackoffInMs: 5 });
    const accepted = Array.from({ length: 20 }, (_, i) => writer.enqueue(pair(i))).filter(Boolean).length;
    expect(accepted).toBe(10);
    expect(writer.refused).toBe(10);
    store.down = false;
    await writer.flush();
    expect(await ids(real)).toHaveLength(10);
    await real.close();
  });
});

/** A real file spool on a disk that can be made full: appends throw ENOSPC, as fs does. */
class FullDiskSpool implements PairSpool {
  full = false;
  failedAppends = 0;
  constructor(readonly inner: FilePairSpool) {}
  async append(pairs: readonly PairRecord[]) {
    if (this.full) {
      this.failedAppends++;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
    }
    return this.inner.append(pairs);
  }
  peek() {
    return this.inner.peek();
  }
  remove(id: string) {
    return this.inner.remove(id);
  }
  size() {
    return this.inner.size();
  }
}

describe('PairWriter when the store and the outbox both fail (disk full)', () => {
  it('keeps every record in memory while memory allows, refuses and counts beyond, loses none', async () => {
    const real = new SqlitePairStore({ path: ':memory:' });
    const store = new FaultyPairStore(real);
    const spool = new FullDiskSpool(new FilePairSpool({ dir: path.join(dir, 'spool') }));
    const overflowed: string[] = [];
    const stages: string[] = [];
    const writer = new PairWriter({
      store,
      spool,
      maxQueueLength: 200,
      maxBatchSize: 16,
      maxBackoffInMs: 5,
      onOverflow: (p) => overflowed.push(p.id),
      onError: (_e, _n, stage) => stages.push(stage),
    });
    store.down = true;
    spool.full = true;
    expect(writer.health().status).toBe('ok');
    for (let i = 0; i < 200; i++) {
      expect(writer.enqueue(pair(i))).toBe(true);
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    // Wait until the writer has tried (and failed) both the store and the outbox.
    await vi.waitFor(() => expect(spool.failedAppends).toBeGreaterThan(2), { timeout: 10_000, interval: 5 });
    expect(store.failedWrites).toBeGreaterThan(0);
    expect(writer.pending).toBe(200); // nothing left memory for a disk that did not take it
    const refusedNow = Array.from({ length: 50 }, (_, i) => writer.enqueue(pair(200 + i)));
    expect(refusedNow.every((ok) => !ok)).toBe(true);
    expect(writer.refused).toBe(50);
    expect(overflowed).toHaveLength(50);
    expect(stages).toContain('spool');
    const health = writer.health();
    expect(health.status).toBe('degraded');
    expect(health).toMatchObject({ queued: 200, refused: 50 });
    expect(health.spoolFailures).toBeGreaterThan(0);
    // The disk and the store come back: every accepted record is written, in order.
    spool.full = false;
    store.down = false;
    await writer.flush();
    const stored = await ids(real);
    expect(stored).toEqual(Array.from({ length: 200 }, (_, i) => pair(i).id));
    expect(readdirSync(path.join(dir, 'spool'))).toEqual([]);
    await writer.close();
    await real.close();
  });

  it('a failing append leaves no file in the spool folder (a real disk refusing writes)', async () => {
    const spoolDir = path.join(dir, 'spool');
    // A real process whose files may not grow past 1 KiB (ulimit -f 1): the kernel refuses the
    // segment writes with EFBIG part-way, as a full disk does with ENOSPC.
    const fixture = fileURLToPath(new URL('../fixtures/spool-append-on-full-disk.ts', import.meta.url));
    const child = spawn('bash', ['-c', 'ulimit -f 1; exec "$0" --import tsx "$1" "$2"', process.execPath, fixture, spoolDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('RESULT ') && resolve(l.slice(7)));
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    const result = JSON.parse(line) as { errors: string[]; files: string[]; size: number };
    expect(result.errors).toEqual(Array(5).fill('EFBIG'));
    // Only the small segment that fitted: no empty or partial files from the failed appends.
    expect(result.files).toHaveLength(1);
    expect(result.size).toBe(1);
    expect(new FilePairSpool({ dir: spoolDir }).size()).toBe(1);
  });
});

describe('PairWriter with write-ahead durability', () => {
  it('settles a ticket only once its record is in the outbox, before any store write', async () => {
    const real = new SqlitePairStore({ path: ':memory:' });
    const store = new FaultyPairStore(real);
    store.down = true;
    const spool = new FilePairSpool({ dir: path.join(dir, 'spool') });
    const writer = new PairWriter({ store, spool, durability: 'write-ahead', maxBackoffInMs: 5 });
    const tickets = Array.from({ length: 30 }, (_, i) => writer.expect(pair(i).id));
    const none = writer.expect('never-logged');
    for (let i = 0; i < 30; i++) writer.enqueue(pair(i));
    expect(await Promise.all(tickets.map((t) => t.settled))).toEqual(Array(30).fill(true));
    // Durable: a fresh spool over the same folder sees all of them.
    expect(new FilePairSpool({ dir: path.join(dir, 'spool') }).size()).toBe(30);
    none.cancel();
    expect(await none.settled).toBe(false);
    store.down = false;
    await writer.close();
    expect(await ids(real)).toHaveLength(30);
    await real.close();
  });

  it('close() waits for pairs announced but not yet enqueued (answered responses still being logged)', async () => {
    const real = new SqlitePairStore({ path: ':memory:' });
    const writer = new PairWriter({ store: real, spool: new FilePairSpool({ dir: path.join(dir, 'spool') }) });
    const ticket = writer.expect(pair(7).id);
    const closed = writer.close({ deadlineInMs: 10_000 });
    await new Promise((r) => setTimeout(r, 20));
    expect(writer.enqueue(pair(7))).toBe(true);
    expect(await ticket.settled).toBe(true);
    await closed;
    expect(await ids(real)).toEqual([pair(7).id]);
    await real.close();
  });
});
