import { randomUUID } from 'node:crypto';
import type { Container } from '@azure/cosmos';
import { describe, expect, it } from 'vitest';
import { CosmosPairStore } from '../../src/adapters/cosmos/cosmos-pair-store.js';
import { legacyPartitionKey } from '../../src/adapters/cosmos/pair-partition-key.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import { openTestCosmos } from './cosmos-test-client.js';
import { makePair } from './pair-store-contract.js';

// Bucketed pair partitioning on the Cosmos DB test server (pair-partition-key.ts): one busy task's
// writes spread over day × hash-bucket partitions; lists merge the buckets of the asked days only,
// in (createdAt, id) order, across pages; old-format records (pk = task|tenant) stay readable;
// the sharded counter sums every shard and the legacy counter document.

const DAY_MS = 86_400_000;
const T0 = Date.UTC(2026, 2, 1, 0, 0);
/** Pair i of n spread evenly over `days` days, several sharing a timestamp (id tie-break). */
const timeOf = (i: number, n: number, days: number) => new Date(T0 + Math.floor((i * days * DAY_MS) / n / 4) * 4).toISOString();
const byTime = (a: PairRecord, b: PairRecord) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function rawDocs(pairs: Container, task: string): Promise<{ id: string; pk: string }[]> {
  const { resources } = await pairs.items
    .query<{ id: string; pk: string }>({ query: 'SELECT * FROM c WHERE c.task = @task', parameters: [{ name: '@task', value: task }] })
    .fetchAll();
  return resources;
}

/** The pairs container, recording the @pk of every query the store sends. */
function recordingQueries(container: Container, seen: string[]): Container {
  const items = new Proxy(container.items, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return (spec: { parameters?: { name: string; value: unknown }[] }, options: unknown) => {
        const pk = spec.parameters?.find((p) => p.name === '@pk')?.value;
        if (typeof pk === 'string') seen.push(pk);
        return target.query(spec as never, options as never);
      };
    },
  });
  return new Proxy(container, { get: (target, prop, receiver) => (prop === 'items' ? items : Reflect.get(target, prop, receiver)) });
}

describe('CosmosPairStore partitioning (test server)', () => {
  const task = () => `busy-${randomUUID().slice(0, 8)}`;

  it('spreads one task and tenant over day × bucket partitions, none holding more than 1.5/buckets of a day', async () => {
    const cosmos = await openTestCosmos();
    const store = new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters, bucketsPerDay: 8, maxBatchSize: 100 });
    try {
      const t = task();
      const n = 800;
      const pairs = Array.from({ length: n }, (_, i) => makePair(t, { createdAt: timeOf(i, n, 2) }));
      await store.upsertMany(pairs);
      const docs = await rawDocs(cosmos.pairs, t);
      expect(docs).toHaveLength(n);
      const perKey = new Map<string, number>();
      for (const d of docs) perKey.set(d.pk, (perKey.get(d.pk) ?? 0) + 1);
      expect(perKey.size).toBe(2 * 8); // 2 days × 8 buckets
      expect([...perKey.keys()].every((k) => /^busy-[\w-]+\|acme\|2026030[12]\|[0-7]$/.test(k))).toBe(true);
      // Before bucketing every record of the task and tenant shared one key: share 1.0.
      const maxShareOfDay = Math.max(...perKey.values()) / (n / 2);
      expect(maxShareOfDay).toBeLessThanOrEqual(1.5 / 8);
    } finally {
      await store.close();
    }
  });

  it('lists across buckets and days in (createdAt, id) order, paging with a small page size', async () => {
    const cosmos = await openTestCosmos();
    const store = new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters, bucketsPerDay: 4, pageSize: 3, maxBatchSize: 25 });
    try {
      const t = task();
      const n = 120;
      const pairs = Array.from({ length: n }, (_, i) =>
        makePair(t, { id: `p-${String((i * 37) % n).padStart(3, '0')}`, tenant: i % 3 ? 'acme' : 'globex', createdAt: timeOf(i, n, 3) }),
      );
      await store.upsertMany([...pairs].reverse());
      const expected = [...pairs].sort(byTime);
      expect((await collect(store.list({ task: t }))).map((p) => p.id)).toEqual(expected.map((p) => p.id));
      const acme = await collect(store.list({ task: t, tenant: 'acme' }));
      expect(acme.map((p) => p.id)).toEqual(expected.filter((p) => p.tenant === 'acme').map((p) => p.id));
      // A limit stops the merge exactly, even mid-page and mid-bucket.
      expect((await collect(store.list({ task: t, limit: 17 }))).map((p) => p.id)).toEqual(expected.slice(0, 17).map((p) => p.id));
      // A range inside one day, and one crossing a day boundary.
      const since = new Date(T0 + DAY_MS + 3_600_000).toISOString();
      const until = new Date(T0 + 2 * DAY_MS + 3_600_000).toISOString();
      const inRange = expected.filter((p) => p.createdAt >= since && p.createdAt < until);
      expect(inRange.length).toBeGreaterThan(10);
      expect((await collect(store.list({ task: t, since, until }))).map((p) => p.id)).toEqual(inRange.map((p) => p.id));
    } finally {
      await store.close();
    }
  });

  it('fans a time-range read out over the buckets of the asked days only', async () => {
    const cosmos = await openTestCosmos();
    const writer = new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters, bucketsPerDay: 4 });
    const seen: string[] = [];
    const reader = new CosmosPairStore({ pairs: recordingQueries(cosmos.pairs, seen), counters: cosmos.pairCounters, bucketsPerDay: 4 });
    try {
      const t = task();
      const n = 90;
      await writer.upsertMany(Array.from({ length: n }, (_, i) => makePair(t, { createdAt: timeOf(i, n, 3) })));
      const day2 = { since: new Date(T0 + DAY_MS).toISOString(), until: new Date(T0 + 2 * DAY_MS).toISOString() };
      const listed = await collect(reader.list({ task: t, tenant: 'acme', ...day2 }));
      expect(listed).toHaveLength(30);
      const keys = [...new Set(seen)].sort();
      expect(keys).toEqual([0, 1, 2, 3].map((h) => `${t}|acme|20260302|${h}`).concat(legacyPartitionKey(t, 'acme')).sort());
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('still reads records written with the old key (pk = task|tenant), merged in order, until told not to', async () => {
    const cosmos = await openTestCosmos();
    const t = task();
    const old = [0, 2, 4].map((m) => makePair(t, { id: `old-${m}`, createdAt: new Date(T0 + m * 60_000).toISOString() }));
    for (const pair of old) {
      // The document shape the adapter wrote before day buckets.
      await cosmos.pairs.items.create({ id: pair.id, pk: legacyPartitionKey(t, 'acme'), task: t, tenant: 'acme', ts: pair.createdAt, sourceKind: 'traffic', pair });
    }
    await cosmos.pairCounters.items.create({ id: 'pairs', task: t, type: 'counter', count: old.length });
    await cosmos.pairCounters.items.create({ id: 'tenant:acme', task: t, type: 'tenant', tenant: 'acme' });
    const store = new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters, bucketsPerDay: 4 });
    const migrated = new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters, bucketsPerDay: 4, readLegacyPartition: false });
    try {
      const fresh = [1, 3, 5].map((m) => makePair(t, { id: `new-${m}`, createdAt: new Date(T0 + m * 60_000).toISOString() }));
      await store.upsertMany(fresh);
      expect((await collect(store.list({ task: t }))).map((p) => p.id)).toEqual(['old-0', 'new-1', 'old-2', 'new-3', 'old-4', 'new-5']);
      expect(await store.get(t, 'acme', 'old-2')).toEqual(old[1]);
      expect(await store.get(t, 'acme', 'new-3')).toEqual(fresh[1]);
      expect(await store.getCounter(t)).toBe(6); // legacy counter document + the new shard
      expect((await collect(migrated.list({ task: t }))).map((p) => p.id)).toEqual(['new-1', 'new-3', 'new-5']);
      expect(await migrated.get(t, 'acme', 'old-2')).toBeUndefined();
    } finally {
      await migrated.close();
      await store.close();
    }
  });

  it('reads every record after bucketsPerDay changes within a day (list and point reads)', async () => {
    const cosmos = await openTestCosmos();
    const t = task();
    const four = new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters, bucketsPerDay: 4 });
    const eight = new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters, bucketsPerDay: 8 });
    try {
      const a = Array.from({ length: 20 }, (_, i) => makePair(t, { createdAt: new Date(T0 + i * 1000).toISOString() }));
      const b = Array.from({ length: 20 }, (_, i) => makePair(t, { createdAt: new Date(T0 + i * 1000 + 500).toISOString() }));
      await four.upsertMany(a);
      await eight.upsertMany(b);
      const expected = [...a, ...b].sort(byTime).map((p) => p.id);
      expect((await collect(four.list({ task: t }))).map((p) => p.id)).toEqual(expected);
      expect((await collect(eight.list({ task: t }))).map((p) => p.id)).toEqual(expected);
      for (const p of [...a.slice(0, 5), ...b.slice(0, 5)]) expect(await eight.get(t, 'acme', p.id)).toEqual(p);
    } finally {
      await eight.close();
      await four.close();
    }
  });

  it('counts across counter shards written by concurrent instances, with no shard document taking every increment', async () => {
    const cosmos = await openTestCosmos();
    const t = task();
    const instances = Array.from({ length: 6 }, () => new CosmosPairStore({ pairs: cosmos.pairs, counters: cosmos.pairCounters, counterShards: 4, maxBatchSize: 10 }));
    try {
      await Promise.all(instances.map((s, k) => s.upsertMany(Array.from({ length: 25 }, (_, i) => makePair(t, { createdAt: timeOf(i + 25 * k, 150, 1) })))));
      expect(await instances[0]!.getCounter(t)).toBe(150);
      const { resources } = await cosmos.pairCounters.items
        .query<{ id: string; count: number }>({
          query: 'SELECT * FROM c WHERE c.task = @task AND c.type = @type',
          parameters: [
            { name: '@task', value: t },
            { name: '@type', value: 'counter' },
          ],
        })
        .fetchAll();
      expect(resources.every((r) => /^pairs:[0-3]$/.test(r.id))).toBe(true);
      expect(resources.reduce((s, r) => s + r.count, 0)).toBe(150);
    } finally {
      await Promise.all(instances.map((s) => s.close()));
    }
  });
});
