import { randomUUID } from 'node:crypto';
import { MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureCosmosContainers } from '../../src/adapters/cosmos/cosmos-containers.js';
import { CosmosJobStore } from '../../src/adapters/cosmos/cosmos-job-store.js';
import { CosmosPairStore } from '../../src/adapters/cosmos/cosmos-pair-store.js';
import { createCosmosClient } from '../../src/adapters/cosmos/create-cosmos-client.js';
import { estimateRequestCharge, RequestChargeMeter, type RequestCharge } from '../../src/adapters/cosmos/request-charge.js';
import { recordCosmosRequestCharge, startTelemetry, type Telemetry } from '../../src/telemetry.js';
import { inject } from 'vitest';
import { makePair } from './pair-store-contract.js';

// RU accounting (request-charge.ts) against the Cosmos DB test server, whose x-ms-request-charge
// is a constant 1: with trustReportedCharge false every operation is charged from the documented
// size table and marked estimated; with true the service's figure is taken as is.

class TestMetricReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

let running: Telemetry | undefined;
afterEach(async () => {
  await running?.shutdown();
  running = undefined;
});

async function open(listener: (c: RequestCharge) => void, trustReportedCharge: boolean) {
  const client = createCosmosClient({ endpoint: inject('cosmosEndpoint'), key: inject('cosmosKey') }, { enableEndpointDiscovery: false });
  const containers = await ensureCosmosContainers(client, {
    databaseId: `ru-${randomUUID().slice(0, 8)}`,
    requestCharges: { listener, trustReportedCharge },
  });
  return { client, ...containers };
}

describe('estimateRequestCharge (documented RU-by-size table)', () => {
  it('matches the table at its rows and interpolates between them', () => {
    expect(estimateRequestCharge('read', 1024)).toBe(1);
    expect(estimateRequestCharge('write', 1024)).toBe(4.95);
    expect(estimateRequestCharge('write', 2048)).toBeCloseTo(6.29, 6);
    expect(estimateRequestCharge('write', 1536)).toBeCloseTo((4.95 + 6.29) / 2, 6);
    expect(estimateRequestCharge('write', 100)).toBe(4.95); // below 1 KB: the 1 KB row
    expect(estimateRequestCharge('query', 0)).toBe(2); // 1 RU overhead + one 1 KB read
  });
});

describe('Cosmos adapters report the request charge of every operation', () => {
  it('estimates from item size where the service charge is a placeholder, for writes, reads, queries and counters', async () => {
    const meter = new RequestChargeMeter();
    const seen: RequestCharge[] = [];
    const cosmos = await open((c) => {
      seen.push(c);
      meter.listener(c);
    }, false);
    const store = new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters });
    try {
      const t = `ru-${randomUUID().slice(0, 8)}`;
      const pairs = Array.from({ length: 20 }, () => makePair(t));
      await store.upsertMany(pairs);
      expect(await store.get(t, 'acme', pairs[3]!.id)).toEqual(pairs[3]);
      for await (const _ of store.list({ task: t })) void _;
      expect(await store.getCounter(t)).toBe(20);
      expect(seen.every((c) => c.estimated)).toBe(true);
      const writes = seen.filter((c) => c.container === 'pairs' && c.operation === 'write');
      expect(writes).toHaveLength(20);
      const docBytes = writes[0]!.bytes;
      expect(docBytes).toBeGreaterThan(Buffer.byteLength(JSON.stringify(pairs[0])));
      expect(writes[0]!.requestUnits).toBeCloseTo(estimateRequestCharge('write', docBytes), 9);
      const totals = new Map(meter.totals().map((r) => [`${r.container}.${r.operation}`, r]));
      expect(totals.get('pairs.read')!.count).toBeGreaterThanOrEqual(1);
      expect(totals.get('pairs.query')!.count).toBeGreaterThanOrEqual(1);
      expect(totals.get('pair-counters.write')!.count).toBeGreaterThanOrEqual(1); // counter shard, day and tenant documents
      expect(totals.get('pair-counters.query')!.count).toBeGreaterThanOrEqual(1);
      expect(meter.requestUnits).toBeGreaterThan(20 * 4.95);
    } finally {
      await store.close();
      cosmos.client.dispose();
    }
  });

  it('takes the service charge when it is trusted, for every adapter on the metered containers', async () => {
    const seen: RequestCharge[] = [];
    const cosmos = await open((c) => seen.push(c), true);
    try {
      const jobs = new CosmosJobStore({ jobs: cosmos.jobs });
      expect(await jobs.get('no-job', { task: 'no-task' })).toBeUndefined(); // a 404 read is charged too
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((c) => c.container === 'jobs' && !c.estimated && c.requestUnits === 1)).toBe(true);
    } finally {
      cosmos.client.dispose();
    }
  });

  it('records the charges as the distillery.cosmos.request_units metric', async () => {
    const reader = new TestMetricReader();
    running = await startTelemetry({}, { metricReaders: [reader] });
    recordCosmosRequestCharge({ container: 'pairs', operation: 'write', requestUnits: 6.29, estimated: true });
    recordCosmosRequestCharge({ container: 'pairs', operation: 'write', requestUnits: 6.29, estimated: true });
    recordCosmosRequestCharge({ container: 'jobs', operation: 'read', requestUnits: 1, estimated: false });
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m: MetricData) => m.descriptor.name === 'distillery.cosmos.request_units')!;
    const points = Object.fromEntries(metric.dataPoints.map((p) => [`${String(p.attributes['distillery.store'])}/${String(p.attributes['distillery.store.operation'])}`, p.value]));
    expect(points).toEqual({ 'cosmos.pairs/write.estimated': 12.58, 'cosmos.jobs/read': 1 });
  });
});
