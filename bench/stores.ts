// Store and queue benchmarks: pair-log write throughput into SQLite and into Cosmos DB (the
// in-process test server) with batching, and job-queue round-trip latency on the SQLite queue and
// on Service Bus (the rhea broker fixture, real @azure/service-bus client). Each figure comes with
// a baseline measured in the same run:
//   SQLite pairs   vs the same store with one upsert (one transaction) per pair
//   Cosmos pairs   vs sequential awaited item upserts (no batching), and one executeBulkOperations call
//   queues         send → handler start, one message at a time; SQLite queue is the baseline for Service Bus
//   npx tsx bench/stores.ts [--pairs 20000] [--cosmos-pairs 3000] [--messages 200]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BulkOperationType, type OperationInput } from '@azure/cosmos';
import { ensureCosmosContainers } from '../src/adapters/cosmos/cosmos-containers.js';
import { CosmosPairStore } from '../src/adapters/cosmos/cosmos-pair-store.js';
import { createCosmosClient } from '../src/adapters/cosmos/create-cosmos-client.js';
import { ServiceBusJobQueue } from '../src/adapters/service-bus/service-bus-job-queue.js';
import { SqliteJobQueue } from '../src/adapters/sqlite/sqlite-job-queue.js';
import { SqlitePairStore } from '../src/adapters/sqlite/sqlite-pair-store.js';
import type { JobQueue } from '../src/core/ports.js';
import { makePair } from '../test/contract/pair-store-contract.js';
import { startCosmos } from '../test/fixtures/start-cosmos.js';
import { startServiceBusBroker } from '../test/fixtures/service-bus-broker/service-bus-broker.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const PAIRS = arg('pairs', 20_000);
const COSMOS_PAIRS = arg('cosmos-pairs', 3_000);
const MESSAGES = arg('messages', 200);
const RUNS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const lines: string[] = [];
const out = (line = '') => {
  lines.push(line);
  console.log(line);
};

const dir = mkdtempSync(path.join(tmpdir(), 'bench-stores-'));
const pairsFor = (n: number, task: string) =>
  Array.from({ length: n }, (_, i) => makePair(task, { tenant: `tenant-${i % 4}`, createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() }));

// --- SQLite pair store -------------------------------------------------------------------------
async function sqlitePairs(): Promise<{ store: number; baseline: number }> {
  const storeRates: number[] = [];
  const baseRates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const store = new SqlitePairStore({ path: path.join(dir, `pairs-${run}.db`) });
    const pairs = pairsFor(PAIRS, 'bench');
    const t0 = performance.now();
    for (let i = 0; i < pairs.length; i += 500) await store.upsertMany(pairs.slice(i, i + 500));
    await store.flush();
    storeRates.push(PAIRS / ((performance.now() - t0) / 1000));
    await store.close();

    // Baseline: the same store and schema, one upsert (one transaction, one commit) per pair.
    const n = Math.min(2_000, PAIRS);
    const single = new SqlitePairStore({ path: path.join(dir, `baseline-${run}.db`) });
    const base = pairsFor(n, 'bench');
    const t1 = performance.now();
    for (const p of base) await single.upsert(p);
    baseRates.push(n / ((performance.now() - t1) / 1000));
    await single.close();
  }
  return { store: median(storeRates), baseline: median(baseRates) };
}

// --- Cosmos pair store -------------------------------------------------------------------------
async function cosmosPairs(): Promise<{ store: number; baseline: number; bulk: number; bulkOk: number }> {
  const server = await startCosmos();
  try {
    const client = createCosmosClient({ endpoint: server.endpoint, key: server.key }, { enableEndpointDiscovery: false });
    const storeRates: number[] = [];
    const baseRates: number[] = [];
    const bulkRates: number[] = [];
    const bulkOk: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const c = await ensureCosmosContainers(client, { databaseId: `bench-${run}` });
      const store = new CosmosPairStore({ pairs: c.pairs, counters: c.pairCounters, maxBatchSize: 100, writeConcurrency: 16 });
      const pairs = pairsFor(COSMOS_PAIRS, `bench-${randomUUID().slice(0, 6)}`);
      const t0 = performance.now();
      for (let i = 0; i < pairs.length; i += 500) await store.upsertMany(pairs.slice(i, i + 500));
      await store.flush();
      storeRates.push(COSMOS_PAIRS / ((performance.now() - t0) / 1000));
      if ((await store.getCounter(pairs[0]!.task)) !== COSMOS_PAIRS) throw new Error('Cosmos pair count mismatch');
      await store.close();

      const n = Math.min(500, COSMOS_PAIRS);
      const base = pairsFor(n, `base-${randomUUID().slice(0, 6)}`);
      const t1 = performance.now();
      for (const p of base) await c.pairs.items.upsert({ id: p.id, pk: `${p.task}|${p.tenant}`, task: p.task, tenant: p.tenant, ts: p.createdAt, pair: p });
      baseRates.push(n / ((performance.now() - t1) / 1000));

      const bulk = pairsFor(100, `bulk-${randomUUID().slice(0, 6)}`);
      const t2 = performance.now();
      const results = await c.pairs.items.executeBulkOperations(
        bulk.map((p) => ({
          operationType: BulkOperationType.Upsert,
          partitionKey: `${p.task}|${p.tenant}`,
          resourceBody: { id: p.id, pk: `${p.task}|${p.tenant}`, task: p.task, tenant: p.tenant, ts: p.createdAt, pair: p },
        })) as unknown as OperationInput[],
      );
      const elapsed = (performance.now() - t2) / 1000;
      bulkOk.push(results.filter((r) => r.response !== undefined && r.response.statusCode < 300).length);
      bulkRates.push(bulkOk[bulkOk.length - 1]! / elapsed);
    }
    return { store: median(storeRates), baseline: median(baseRates), bulk: median(bulkRates), bulkOk: median(bulkOk) };
  } finally {
    await server.stop();
  }
}

// --- queue round trips -------------------------------------------------------------------------
async function roundTrips(queue: JobQueue, n: number): Promise<number[]> {
  const latencies: number[] = [];
  let resolveNext: (() => void) | undefined;
  let sentAt = 0;
  const sub = queue.subscribe(async () => {
    latencies.push(performance.now() - sentAt);
    resolveNext?.();
  });
  for (let i = 0; i < n + 10; i++) {
    const done = new Promise<void>((r) => (resolveNext = r));
    const jobId = `job-${randomUUID()}`;
    sentAt = performance.now();
    await queue.send({ messageId: jobId, body: { jobId, task: 'bench', kind: 'redistill' } });
    await done;
  }
  await sub.close();
  return latencies.slice(10); // the first ten warm links and statements up
}

async function main() {
  out(`## Stores and queues (bench/stores.ts)`);
  out();
  out(`Command: \`npx tsx bench/stores.ts --pairs ${PAIRS} --cosmos-pairs ${COSMOS_PAIRS} --messages ${MESSAGES}\` — Node ${process.version}, medians of ${RUNS} runs.`);
  out();
  const sqlite = await sqlitePairs();
  const cosmos = await cosmosPairs();
  out(`| pair-log writes | pairs/s | baseline (same run) | ratio |`);
  out(`| --- | ---: | --- | ---: |`);
  out(`| SqlitePairStore.upsertMany (500/batch, WAL, ${fmt(PAIRS)} pairs) | ${fmt(sqlite.store)} | ${fmt(sqlite.baseline)}/s same store, one upsert (one commit) per pair | ${fmt(sqlite.store / sqlite.baseline, 1)}× |`);
  out(`| CosmosPairStore (100/batch, 16 parallel upserts, test server, ${fmt(COSMOS_PAIRS)} pairs) | ${fmt(cosmos.store)} | ${fmt(cosmos.baseline)}/s sequential item upserts | ${fmt(cosmos.store / cosmos.baseline, 1)}× |`);
  out(`| executeBulkOperations, 100 upserts per call (test server; ${cosmos.bulkOk}/100 succeeded) | ${fmt(cosmos.bulk)} | ${fmt(cosmos.baseline)}/s sequential item upserts | ${fmt(cosmos.bulk / cosmos.baseline, 2)}× |`);
  out();
  out(`SQLite target ≥ 5,000 pairs/s: ${sqlite.store >= 5_000 ? 'met' : 'NOT met'}.`);
  out();

  const sqliteLatency: number[] = [];
  const sbLatency: number[] = [];
  const broker = await startServiceBusBroker();
  try {
    for (let run = 0; run < RUNS; run++) {
      const sq = new SqliteJobQueue({ path: path.join(dir, `queue-${run}.db`), pollIntervalInMs: 50 });
      sqliteLatency.push(...(await roundTrips(sq, MESSAGES)));
      await sq.close();
      const sb = new ServiceBusJobQueue({ connectionString: broker.connectionString, queueName: `bench-${run}` });
      sbLatency.push(...(await roundTrips(sb, MESSAGES)));
      await sb.close();
    }
  } finally {
    await broker.stop();
  }
  out(`| job queue: send → handler start (${fmt(MESSAGES)} messages × ${RUNS} runs, one in flight) | p50 ms | p99 ms | p50 ratio to SQLite |`);
  out(`| --- | ---: | ---: | ---: |`);
  out(`| SqliteJobQueue (same process: local send wakes the poller) | ${fmt(pct(sqliteLatency, 50), 2)} | ${fmt(pct(sqliteLatency, 99), 2)} | 1.0× (baseline) |`);
  out(`| ServiceBusJobQueue → rhea broker fixture (real SDK, AMQP over loopback) | ${fmt(pct(sbLatency, 50), 2)} | ${fmt(pct(sbLatency, 99), 2)} | ${fmt(pct(sbLatency, 50) / pct(sqliteLatency, 50), 1)}× |`);
  out();
  out(`The broker fixture is test infrastructure: its latency shows the client path (send settlement, credit, peek-lock delivery), not Azure's network.`);
  rmSync(dir, { recursive: true, force: true });
}

await main();
