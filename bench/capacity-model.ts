// Capacity model: what one chat API with one busy task needs from Azure, and what it costs per
// month, at 10 / 100 / 1,000 / 10,000 requests/s — a simulation, no cloud (docs/capacity.md).
//
//   npx tsx bench/capacity-model.ts [--rps 10,100,1000,10000] [--student-share 0.8] [--pair-kb 2]
//     [--retention-days 30] [--buckets 32] [--teacher gpt-4o] [--prompt-tokens 400]
//     [--completion-tokens 150] [--shadow-share 0.05] [--max-share 0.15]
//
// 1. Measures RU per pair written and read through the real CosmosPairStore on the local Cosmos
//    server, with the adapters' RU accounting (request-charge.ts). That server's charge is a
//    placeholder, so the figures are the documented size-table estimates (marked as such).
// 2. Runs the real partition-key function over synthetic one-task traffic and asserts that no
//    logical partition receives more than --max-share of a day's writes (exit code 1 otherwise).
// 3. Prints, per load: RU/s, partitions, storage, Functions instances / executions / GB-s,
//    Service Bus operations, Blob transactions and the monthly cost of each at list prices
//    (bench/capacity/platform-prices.ts; model prices from src/core/eval/price-table.ts), next to
//    the teacher spend the student saves.

import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ensureCosmosContainers } from '../src/adapters/cosmos/cosmos-containers.js';
import { CosmosPairStore } from '../src/adapters/cosmos/cosmos-pair-store.js';
import { createCosmosClient } from '../src/adapters/cosmos/create-cosmos-client.js';
import { MAX_BUCKETS_PER_DAY } from '../src/adapters/cosmos/pair-partition-key.js';
import { RequestChargeMeter } from '../src/adapters/cosmos/request-charge.js';
import { DEFAULT_PRICING, findModelPrice, tokenCostUsd } from '../src/core/eval/pricing.js';
import { makePair } from '../test/contract/pair-store-contract.js';
import { startCosmos } from '../test/fixtures/start-cosmos.js';
import { bucketsNeeded, capacityRow, DESIGN_WORKLOAD, documentedRuPerPair, flexSettings, type CapacityRow, type Workload } from './capacity/capacity-math.js';
import { simulateSpread } from './capacity/partition-simulation.js';
import { PLATFORM_LIMITS, PLATFORM_PRICES } from './capacity/platform-prices.js';

const { values: args } = parseArgs({
  options: {
    rps: { type: 'string', default: '10,100,1000,10000' },
    'student-share': { type: 'string', default: '0.8' },
    'shadow-share': { type: 'string', default: '0.05' },
    'pair-kb': { type: 'string', default: '2' },
    'retention-days': { type: 'string', default: '30' },
    buckets: { type: 'string', default: '32' },
    teacher: { type: 'string', default: 'gpt-4o' },
    'prompt-tokens': { type: 'string', default: '400' },
    'completion-tokens': { type: 'string', default: '150' },
    'max-share': { type: 'string', default: '0.15' },
    'simulated-writes': { type: 'string', default: '400000' },
  },
});
const num = (k: keyof typeof args) => Number(args[k]);
const bucketsPerDay = num('buckets');
const pairKb = num('pair-kb');

/** RU per pair through the adapter, on the local server (estimated from size: its charge is a placeholder). */
async function measureRuPerPair(pairs: number): Promise<{ write: number; read: number; docBytes: number }> {
  const server = await startCosmos();
  const meter = new RequestChargeMeter();
  const client = createCosmosClient({ endpoint: server.endpoint, key: server.key }, { enableEndpointDiscovery: false });
  try {
    const c = await ensureCosmosContainers(client, { databaseId: `capacity-${randomUUID().slice(0, 6)}`, requestCharges: { listener: meter.listener, trustReportedCharge: false } });
    const store = new CosmosPairStore({ pairs: c.pairs, counters: c.pairCounters, bucketsPerDay, maxBatchSize: 100 });
    const task = `cap-${randomUUID().slice(0, 6)}`;
    // Padding brings the stored document to about --pair-kb (prompt and answers of a real pair).
    const filler = 'x'.repeat(Math.max(0, pairKb * 1024 - 1100));
    const batch = Array.from({ length: pairs }, (_, i) =>
      makePair(task, { createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), request: { messages: [{ role: 'user', content: filler }], params: {} } }),
    );
    await store.upsertMany(batch);
    const afterWrite = meter.requestUnits;
    let read = 0;
    for await (const _ of store.list({ task })) read++;
    await store.close();
    const writes = meter.totals().find((t) => t.container === 'pairs' && t.operation === 'write')!;
    return { write: afterWrite / pairs, read: (meter.requestUnits - afterWrite) / read, docBytes: writes.bytes / writes.count };
  } finally {
    client.dispose();
    await server.stop();
  }
}

const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const usd = (x: number) => `$${fmt(x, x < 100 ? 2 : 0)}`;

function printRows(rows: CapacityRow[]): void {
  console.log('\n| requests/s | pairs/day | Cosmos RU/s consumed | RU/s to provision (partition skew) | hottest logical partition RU/s | storage GB/day | GB retained | physical partitions | logical partition GB/day |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${fmt(r.rps)} | ${fmt(r.pairsPerDay)} | ${fmt(r.cosmosRuPerSecond)} | ${fmt(r.provisionedRuPerSecond)} | ${fmt(r.hottestPartitionRuPerSecond)} | ${fmt(r.storageGbPerDay, 1)} | ${fmt(r.storageGbRetained)} | ${r.physicalPartitions} | ${fmt(r.logicalPartitionGbPerDay, 2)} |`);
  }
  console.log('\n| requests/s | instances (busy) | HTTP concurrency / instance | executions/month | GB-s/month | jobs/day | Service Bus ops/month | Blob writes/month | Blob reads/month |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${fmt(r.rps)} | ${r.instances} | ${r.perInstanceConcurrency} | ${fmt(r.executionsPerMonth / 1e6, 1)} M | ${fmt(r.gbSecondsPerMonth / 1e6, 2)} M | ${fmt(r.jobsPerDay)} | ${fmt(r.serviceBusOpsPerMonth)} | ${fmt(r.blobWritesPerMonth)} | ${fmt(r.blobReadsPerMonth)} |`);
  }
  console.log('\n| requests/s | Cosmos throughput | Cosmos storage | Functions | Service Bus | Blob | **platform / month** | teacher only / month | with student / month | teacher spend saved |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const m = r.monthlyUsd;
    console.log(`| ${fmt(r.rps)} | ${usd(m.cosmosThroughput)} | ${usd(m.cosmosStorage)} | ${usd(m.functions)} | ${usd(m.serviceBus)} | ${usd(m.blob)} | **${usd(m.platform)}** | ${usd(r.teacherUsd.allTeacher)} | ${usd(r.teacherUsd.withStudent)} | ${usd(r.teacherUsd.saved)} |`);
  }
}

async function main(): Promise<void> {
  const teacher = findModelPrice(DEFAULT_PRICING, args.teacher!);
  if (!teacher) throw new Error(`No price for teacher '${args.teacher}' in src/core/eval/price-table.ts.`);
  const teacherUsdPerRequest = tokenCostUsd(teacher, { promptTokens: num('prompt-tokens'), completionTokens: num('completion-tokens') });

  const measured = await measureRuPerPair(500);
  const documented = documentedRuPerPair(pairKb);
  console.log(`Capacity model — student share ${args['student-share']}, shadow ${args['shadow-share']}, pair ${pairKb} KB, retention ${args['retention-days']} d, ${bucketsPerDay} buckets/day, teacher ${teacher.id} (${usd(teacherUsdPerRequest * 1e6)} per 1M requests at ${args['prompt-tokens']}+${args['completion-tokens']} tokens)`);
  console.log(`RU per pair through CosmosPairStore (local server, estimated from size — its x-ms-request-charge is a placeholder): write ${fmt(measured.write, 2)} (document ${fmt(measured.docBytes)} B), read ${fmt(measured.read, 2)}; documented table for ${pairKb} KB: write ${fmt(documented.write, 2)}, read ${fmt(documented.read, 2)}`);

  const spread = simulateSpread({ writes: num('simulated-writes'), days: 2, bucketsPerDay });
  const maxShare = num('max-share');
  const ok = spread.maxShareOfDay <= maxShare;
  console.log(`Partition spread (real key function, ${fmt(spread.writes)} synthetic writes of one task and tenant over ${spread.days} days): ${spread.partitions} logical partitions; largest share of a day's writes in one partition ${fmt(spread.maxShareOfDay * 100, 2)}% (stated bound ${fmt(maxShare * 100)}%: ${ok ? 'met' : 'EXCEEDED'}); old key task|tenant: ${fmt(spread.legacyMaxShareOfDay * 100)}%`);
  if (!ok) process.exitCode = 1;

  const base: Omit<Workload, 'requestsPerSecond'> = {
    ...DESIGN_WORKLOAD,
    studentShare: num('student-share'),
    shadowShare: num('shadow-share'),
    pairKb,
    retentionDays: num('retention-days'),
    ruPerPairWrite: measured.write,
    ruPerPairRead: Math.max(measured.read, documented.read), // a job reads each pair about once; at least a point read's cost
    bucketsPerDay,
    teacherUsdPerRequest,
  };
  const rows = args.rps!.split(',').map((r) => capacityRow({ ...base, requestsPerSecond: Number(r) }));
  printRows(rows);
  console.log('\nWhere each resource needs a change (same assumptions):');
  for (const r of rows) {
    const need = bucketsNeeded(r.rps, measured.write, pairKb);
    // Fewest buckets (power of two) whose skew costs at most 1.5× the consumed RU/s.
    let even: CapacityRow | undefined;
    for (let b = need; b <= MAX_BUCKETS_PER_DAY && !even; b *= 2) {
      const row = capacityRow({ ...base, bucketsPerDay: b, requestsPerSecond: r.rps });
      if (row.provisionedRuPerSecond <= 1.5 * Math.max(400, row.cosmosRuPerSecond)) even = { ...row, logicalPartitionGbPerDay: b };
    }
    const notes = [
      need > bucketsPerDay ? `buckets/day ${bucketsPerDay} → ${need} (20 GB / 10,000 RU/s caps)` : `buckets/day ${bucketsPerDay} within the caps (needs ${need})`,
      even
        ? `${even.logicalPartitionGbPerDay} buckets/day keep provisioning within 1.5× consumption (${fmt(even.provisionedRuPerSecond)} RU/s, ${usd(even.monthlyUsd.platform)}/month)`
        : `no bucket count ≤ ${MAX_BUCKETS_PER_DAY} spreads a day over all ${r.physicalPartitions} physical partitions: shorten retention or archive old pairs to Blob`,
      r.cosmosRuPerSecond > PLATFORM_LIMITS.cosmosServerlessRuPerSecond.value ? 'Cosmos serverless → provisioned autoscale' : 'Cosmos serverless fits',
      r.instances > PLATFORM_LIMITS.functionsFlexMinMaxInstances.value ? `maximumInstanceCount ≥ ${Math.ceil(r.instances * 1.5)}` : 'maximumInstanceCount 40 fits',
    ];
    console.log(`- ${fmt(r.rps)} requests/s: ${notes.join('; ')}`);
  }
  const flex = flexSettings({ ...base, requestsPerSecond: 1000 }, Math.max(...rows.map((r) => r.rps)));
  console.log(
    `\nFlex Consumption settings from the model (infra/main.bicep): instanceMemoryMB ${flex.instanceMemoryMB} (1 vCPU; the ONNX student runs in-process); ` +
      `HTTP perInstanceConcurrency ${flex.httpPerInstanceConcurrency} (CPU ≤ ${base.cpuTarget * 100}% at the mean latency); ` +
      `maximumInstanceCount ${flex.maximumInstanceCount} (2.5× the busy instances at the peak load, at least the plan's minimum cap)`,
  );
  const unconfirmed = Object.entries(PLATFORM_PRICES).filter(([, p]) => !p.confirmed).map(([k]) => k);
  console.log(`\nUnconfirmed list prices (check before quoting): ${unconfirmed.join(', ')}.`);
}

await main();
