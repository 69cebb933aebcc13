// What a pair write costs the serving thread: the SQLite pair store on the serving thread
// (SqlitePairStore, as before issue #14 row 5) against the same store on a thread of its own
// (ThreadedSqlitePairStore, what the server uses now). Batches of 64 one after the other, as the
// PairWriter sends them. Serving-thread time is the event loop's active time
// (performance.eventLoopUtilization): on the serving thread a batch blocks the loop for all of it.
//   npx tsx bench/pair-store-thread.ts [--pairs 20000] [--runs 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqlitePairStore } from '../src/adapters/sqlite/sqlite-pair-store.js';
import { ThreadedSqlitePairStore } from '../src/adapters/sqlite/threaded-sqlite-pair-store.js';
import type { PairRecord } from '../src/core/pairs/pair-record.js';
import type { PairStore } from '../src/core/ports.js';
import { makePair } from '../test/contract/pair-store-contract.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const PAIRS = arg('pairs', 20_000);
const RUNS = arg('runs', 3);
const BATCH = 64;

// A typical support-chat pair: a few hundred characters of prompt and answer.
const prompt = 'My order #48213 has not arrived yet and the tracking page says it left the depot four days ago. '.repeat(4);
const records = (tag: string): PairRecord[] =>
  Array.from({ length: PAIRS }, (_, i) =>
    makePair('bench', {
      id: `${tag}-${i}`,
      createdAt: new Date(Date.UTC(2026, 2, 1) + i).toISOString(),
      request: { messages: [{ role: 'system', content: 'You are a support agent.' }, { role: 'user', content: prompt }], params: { temperature: 0 } },
    } as Partial<PairRecord>),
  );

async function measure(name: string, open: (file: string) => PairStore) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-pair-thread-'));
  const store = open(path.join(dir, 'pairs.db'));
  try {
    await store.upsertMany(records('warm').slice(0, BATCH));
    const pairs = records(name);
    const elu = performance.eventLoopUtilization();
    const started = performance.now();
    for (let i = 0; i < pairs.length; i += BATCH) await store.upsertMany(pairs.slice(i, i + BATCH));
    const wall = performance.now() - started;
    const used = performance.eventLoopUtilization(elu);
    return { name, pairsPerSecond: (PAIRS / wall) * 1000, servingUsPerPair: (used.active * 1000) / PAIRS };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Awaited<ReturnType<typeof measure>>[] = [];
for (let r = 0; r < RUNS; r++) {
  rows.push(await measure('serving thread', (file) => new SqlitePairStore({ path: file })));
  rows.push(await measure('own thread', (file) => new ThreadedSqlitePairStore({ path: file })));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${PAIRS} pairs in batches of ${BATCH}, median of ${RUNS} runs`);
console.log('| SQLite pair store | pairs/s | serving-thread µs per pair | serving-thread ms per batch of 64 |');
console.log('| --- | ---: | ---: | ---: |');
for (const name of ['serving thread', 'own thread']) {
  const mine = rows.filter((r) => r.name === name);
  console.log(`| ${name} | ${median(mine.map((r) => r.pairsPerSecond)).toFixed(0)} | ${median(mine.map((r) => r.servingUsPerPair)).toFixed(1)} | ${((median(mine.map((r) => r.servingUsPerPair)) * BATCH) / 1000).toFixed(2)} |`);
}
