import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilePairSpool } from '../../src/adapters/local/file-pair-spool.js';
import { SqlitePairStore } from '../../src/adapters/sqlite/sqlite-pair-store.js';
import { PairWriter } from '../../src/core/pairs/pair-writer.js';
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
      if (i % 250 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(store.failedWrites).toBeGreaterThan(0);
    expect(writer.pending).toBe(5000);
    expect(writer.spooled).toBeGreaterThan(4000);
    // In memory only what arrived since the last spill: bounded by the batching, not the outage.
    expect(maxMemory).toBeLessThanOrEqual(1000);
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
