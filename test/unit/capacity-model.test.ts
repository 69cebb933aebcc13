import { describe, expect, it } from 'vitest';
import { bucketsNeeded, capacityRow, DESIGN_WORKLOAD, flexSettings, serviceBusUsd } from '../../bench/capacity/capacity-math.js';
import { simulateSpread } from '../../bench/capacity/partition-simulation.js';
import { PLATFORM_PRICES } from '../../bench/capacity/platform-prices.js';
import { bucketOf, dayOf, dayOverlaps, fnv1a, pairPartitionKey } from '../../src/adapters/cosmos/pair-partition-key.js';

describe('pair partition key', () => {
  it('is task|tenant|yyyymmdd|h with h stable per id (a retried write lands in the same partition)', () => {
    const key = pairPartitionKey('intent', 'acme', '2026-03-01T23:59:59.999Z', 'pair-1', 8);
    expect(key).toBe(`intent|acme|20260301|${fnv1a('pair-1') % 8}`);
    expect(pairPartitionKey('intent', 'acme', '2026-03-01T23:59:59.999Z', 'pair-1', 8)).toBe(key);
    expect(fnv1a('')).toBe(0x811c9dc5); // FNV-1a offset basis: the hash is the published one
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(dayOf('2026-03-02T00:00:00.000Z')).toBe('20260302');
    expect(bucketOf('x', 1)).toBe(0);
  });

  it('selects a day only when it overlaps [since, until)', () => {
    expect(dayOverlaps('20260302', '2026-03-02T23:00:00.000Z', undefined)).toBe(true);
    expect(dayOverlaps('20260302', '2026-03-03T00:00:00.000Z', undefined)).toBe(false);
    expect(dayOverlaps('20260302', undefined, '2026-03-02T00:00:00.000Z')).toBe(false); // until is exclusive
    expect(dayOverlaps('20260302', undefined, '2026-03-02T00:00:00.001Z')).toBe(true);
  });
});

describe('capacity model', () => {
  it('spreads one task over the buckets: no partition takes more than 1.2/buckets of a day (the old key took all)', () => {
    const r = simulateSpread({ writes: 64_000, days: 2, bucketsPerDay: 16 });
    expect(r.partitions).toBe(32);
    expect(r.maxShareOfDay).toBeLessThanOrEqual(1.2 / 16);
    expect(r.legacyMaxShareOfDay).toBe(1);
  });

  it('gives the design point: 1,000 requests/s at 80% student share', () => {
    const row = capacityRow({ ...DESIGN_WORKLOAD, requestsPerSecond: 1000, teacherUsdPerRequest: 0.0025 });
    expect(row.pairsPerDay).toBe(86_400_000);
    expect(row.cosmosRuPerSecond).toBeCloseTo(1000 * (6.29 + 1.04), 6);
    expect(row.logicalPartitionGbPerDay).toBeLessThan(20 / 2); // within half the 20 GB cap with 32 buckets
    expect(row.hottestPartitionRuPerSecond).toBeLessThan(10_000 / 2);
    expect(row.teacherUsd.saved).toBeGreaterThan(row.monthlyUsd.platform);
    // Past serverless' ceiling the throughput is priced as provisioned autoscale, with enough RU/s
    // that the busiest physical partition (one day's buckets hashed over 99) gets its share.
    expect(row.physicalPartitions).toBe(99); // 4.9 TB retained / 50 GB
    expect(row.provisionedRuPerSecond).toBeGreaterThan(row.cosmosRuPerSecond);
    expect(row.monthlyUsd.cosmosThroughput).toBeCloseTo((row.provisionedRuPerSecond / 100) * PLATFORM_PRICES.cosmosAutoscalePer100RuPerHour.usd * 730, 6);
    // More buckets spread a day over more physical partitions: less to provision.
    const wider = capacityRow({ ...DESIGN_WORKLOAD, bucketsPerDay: 256, requestsPerSecond: 1000, teacherUsdPerRequest: 0.0025 });
    expect(wider.provisionedRuPerSecond).toBeLessThan(row.provisionedRuPerSecond);
  });

  it('asks for more buckets as one task grows, and prices Service Bus by its tiers', () => {
    expect(bucketsNeeded(10, 6.29, 2)).toBe(1);
    expect(bucketsNeeded(1000, 6.29, 2)).toBe(32);
    expect(bucketsNeeded(10_000, 6.29, 2)).toBe(256);
    const base = PLATFORM_PRICES.serviceBusStandardBasePerHour.usd * 730;
    expect(serviceBusUsd(10e6)).toBeCloseTo(base, 9); // within the included 13M
    expect(serviceBusUsd(113e6)).toBeCloseTo(base + 87 * 0.8 + 13 * 0.5, 6);
  });

  it('chooses Flex settings within the plan limits', () => {
    const s = flexSettings({ ...DESIGN_WORKLOAD, requestsPerSecond: 1000, teacherUsdPerRequest: 0 }, 10_000);
    expect(s.instanceMemoryMB).toBe(2048);
    expect(s.httpPerInstanceConcurrency).toBeGreaterThan(0);
    expect(s.httpPerInstanceConcurrency).toBeLessThanOrEqual(1000);
    expect(s.maximumInstanceCount).toBeGreaterThanOrEqual(40);
  });
});
