// The online report over 100,000 logged pairs (target ≤ 5 s), against a baseline pass that only
// iterates the same pairs, measured in the same run. Pairs come from the seeded traffic generator
// the tests use (half classification, half ~30-word chat answers, a fifth shadowed by the teacher).
//
//   npx tsx bench/online-report.ts
//
// Also times the same report read from an in-memory SQLite pair store (keyset-paged list).

import { performance } from 'node:perf_hooks';
import { SqlitePairStore } from '../src/adapters/sqlite/sqlite-pair-store.js';
import { buildOnlineReport } from '../src/core/eval/online-report.js';
import { DEFAULT_PRICING } from '../src/core/eval/pricing.js';
import type { PairRecord } from '../src/core/pairs/pair-record.js';
import { generatePairs } from '../test/integration/eval-seed-pairs.js';

const COUNT = 100_000;
const RUNS = 3;
const pairs = generatePairs({ count: COUNT, seed: 42, tenants: ['acme', 'globex', 'initech'] });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function* stream(items: readonly PairRecord[]): AsyncIterable<PairRecord> {
  for (const p of items) yield p;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    runs.push(performance.now() - t0);
  }
  return median(runs);
}

const baseline = await time(async () => {
  let n = 0;
  for await (const p of stream(pairs)) if (p.task) n++;
  return n;
});
let report: Awaited<ReturnType<typeof buildOnlineReport>> | undefined;
const full = await time(async () => {
  report = await buildOnlineReport(stream(pairs), { pricing: DEFAULT_PRICING });
});
const heapMb = process.memoryUsage().heapUsed / 1024 / 1024;

const store = new SqlitePairStore({ path: ':memory:' });
const t0 = performance.now();
await store.upsertMany(pairs);
const loadMs = performance.now() - t0;
const listOnly = await time(async () => {
  for (const task of ['bank-intents', 'support-chat']) for await (const p of store.list({ task })) void p;
});
const fromStore = await time(async () => {
  const lists = ['bank-intents', 'support-chat'].map((task) => store.list({ task }));
  await buildOnlineReport((async function* () { for (const l of lists) yield* l; })(), { pricing: DEFAULT_PRICING });
});
await store.close();

console.log(`${COUNT} pairs, median of ${RUNS} runs; node ${process.version}`);
console.log(`iterate only (baseline)          ${baseline.toFixed(0).padStart(6)} ms`);
console.log(`online report (in-memory stream) ${full.toFixed(0).padStart(6)} ms   ×${(full / baseline).toFixed(1)} baseline   target ≤ 5000 ms: ${full <= 5000 ? 'met' : 'NOT met'}`);
console.log(`SQLite list only                 ${listOnly.toFixed(0).padStart(6)} ms   (load ${loadMs.toFixed(0)} ms)`);
console.log(`online report from SQLite        ${fromStore.toFixed(0).padStart(6)} ms   ×${(fromStore / listOnly).toFixed(2)} list-only`);
console.log(`heap after report: ${heapMb.toFixed(0)} MB (the 100k input array included)`);
for (const t of report!.tasks) {
  console.log(`  ${t.task}: ${t.requests} requests, student quality ${((t.agreement.studentQuality.rate ?? 0) * 100).toFixed(1)}% (n = ${t.agreement.studentQuality.n}), net savings ${((t.cost.ledger?.netSavingsRatio ?? 0) * 100).toFixed(1)}%`);
}
